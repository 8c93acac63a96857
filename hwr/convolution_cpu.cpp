// Fused CPU kernels of the network's convolution stages (hwr/convolution.py).
//
// A stage is: 3x3 convolution, values outside each image zeroed, max-pooling over
// ph x pw blocks (ceil mode), ReLU. In PyTorch that is five passes over the
// convolution's full-resolution output, forward and backward; on the first stage
// (one input channel, the line at full resolution) they took a fifth of a training
// step. Here:
// - first_forward/first_backward do the whole first stage in one pass: its
//   convolution has one input channel (9 multiply-adds per output value), so it is
//   cheaper to recompute than to store;
// - pool_forward/pool_backward do the mask, pooling and ReLU of the later stages,
//   whose convolutions stay with PyTorch (oneDNN), in one pass.
// Both keep, for each output value, where its maximum came from (-1 where the
// output is 0): the pooling's argmax, as PyTorch's (first maximum in row-major
// order), and the ReLU's mask in one. ReLU(max over the window with the outside
// zeroed) is max(0, max over the window's inside values), which is what is computed.
// Tensors are channels-last: (B, H, W, C) in memory.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_sizes(const at::Tensor& sizes, int64_t B) {
  TORCH_CHECK(sizes.scalar_type() == at::kLong && sizes.dim() == 2 && sizes.size(0) == B && sizes.size(1) == 2,
              "sizes must be (B, 2) int64");
}

// For a (B, H, W, C) stage output with these sizes, pooled over ph x pw: the pooled output (B, Ho,
// Wo, C), all 0 (the ReLU's floor), and where each value's maximum came from, all -1 (nowhere).
std::vector<at::Tensor> pooled_outputs(int64_t B, int64_t H, int64_t W, int64_t C, const at::Tensor& sizes,
                                       int64_t ph, int64_t pw, const at::TensorOptions& options) {
  TORCH_CHECK(H * W < (int64_t(1) << 31), "image too large");
  check_sizes(sizes, B);
  const int64_t Ho = ceil_div(H, ph), Wo = ceil_div(W, pw);
  return {at::zeros({B, Ho, Wo, C}, options), at::full({B, Ho, Wo, C}, -1, options.dtype(at::kInt))};
}

// One channel's block row (rows [0, rows) of `row`, `stride` apart; columns [0, wb)) max-pooled
// over pw columns and ReLU'd into best[xo] and where[xo] (the image position y0 + r, x of the
// maximum, or -1). Windows are visited in PyTorch's order (row by row) for every xo at once,
// the innermost loop running over xo without branches, so that it vectorizes.
template <typename T>
inline void pool_row(const T* row, int64_t rows, int64_t stride, int64_t wb, int64_t pw, int64_t y0, int64_t W,
                     T* best, int32_t* where) {
  const int64_t wo = ceil_div(wb, pw);
  std::fill_n(best, wo, T(0));
  std::fill_n(where, wo, -1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t q = 0; q < pw && q < wb; ++q) {
      const T* v = row + r * stride + q;
      const int32_t base = static_cast<int32_t>((y0 + r) * W + q);
      for (int64_t xo = 0; xo < ceil_div(wb - q, pw); ++xo) {
        const T value = v[xo * pw];
        const bool more = value > best[xo] || value != value;  // NaN wins, as in PyTorch
        best[xo] = more ? value : best[xo];
        where[xo] = more ? base + static_cast<int32_t>(xo * pw) : where[xo];
      }
    }
}

}  // namespace

// images (B, H, W), weight (C, 1, 3, 3), bias (C), sizes (B, 2) -> out (B, Ho, Wo, C), where (B, Ho, Wo, C).
std::vector<at::Tensor> first_forward(at::Tensor images, at::Tensor weight, at::Tensor bias, at::Tensor sizes,
                                      int64_t ph, int64_t pw) {
  TORCH_CHECK(images.device().is_cpu() && images.dim() == 3 && images.is_contiguous(),
              "images must be a contiguous CPU (B, H, W) tensor");
  TORCH_CHECK(weight.dim() == 4 && weight.size(1) == 1 && weight.size(2) == 3 && weight.size(3) == 3,
              "weight must be (C, 1, 3, 3)");
  TORCH_CHECK(weight.scalar_type() == images.scalar_type() && bias.scalar_type() == images.scalar_type(),
              "dtype mismatch");
  const int64_t B = images.size(0), H = images.size(1), W = images.size(2), C = weight.size(0);
  const auto outputs = pooled_outputs(B, H, W, C, sizes, ph, pw, images.options());
  const at::Tensor &out = outputs[0], &where = outputs[1];
  const int64_t Ho = out.size(1), Wo = out.size(2);
  auto w = weight.contiguous(), b_ = bias.contiguous(), s = sizes.contiguous();
  AT_DISPATCH_FLOATING_TYPES(images.scalar_type(), "first_forward", [&] {
    const scalar_t *img = images.data_ptr<scalar_t>(), *wt = w.data_ptr<scalar_t>(), *bs = b_.data_ptr<scalar_t>();
    const int64_t* sz = s.data_ptr<int64_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    int32_t* wh = where.data_ptr<int32_t>();
    at::parallel_for(0, B * Ho, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> block(ph * C * W), best(Wo);  // the convolution of one block row: [row][channel][x]
      std::vector<int32_t> from(Wo);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t b = item / Ho, yo = item % Ho, hb = std::min(sz[2 * b], H), wb = std::min(sz[2 * b + 1], W);
        const int64_t y0 = yo * ph, rows = std::min(ph, hb - y0);
        if (rows <= 0 || wb <= 0) continue;
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = 0; c < C; ++c) {
            scalar_t* row = block.data() + (r * C + c) * W;
            std::fill_n(row, wb, bs[c]);
            for (int64_t ky = 0; ky < 3; ++ky) {
              const int64_t y = y0 + r + ky - 1;
              if (y < 0 || y >= H) continue;
              const scalar_t* src = img + (b * H + y) * W;
              for (int64_t kx = 0; kx < 3; ++kx) {
                const scalar_t k = wt[c * 9 + ky * 3 + kx];
                const int64_t dx = kx - 1, lo = std::max<int64_t>(0, -dx), hi = std::min(wb, W - dx);
                for (int64_t x = lo; x < hi; ++x) row[x] += k * src[x + dx];
              }
            }
          }
        }
        for (int64_t c = 0; c < C; ++c) {
          pool_row(block.data() + c * W, rows, C * W, wb, pw, y0, W, best.data(), from.data());
          const int64_t at = (b * Ho + yo) * Wo * C + c;
          for (int64_t xo = 0; xo < ceil_div(wb, pw); ++xo) o[at + xo * C] = best[xo], wh[at + xo * C] = from[xo];
        }
      }
    });
  });
  return outputs;
}

// The gradients of weight (C, 1, 3, 3) and bias (C) from the output's gradient (B, Ho, Wo, C).
std::vector<at::Tensor> first_backward(at::Tensor grad, at::Tensor images, at::Tensor where) {
  TORCH_CHECK(grad.is_contiguous() && where.is_contiguous() && images.is_contiguous(), "contiguous tensors expected");
  const int64_t B = images.size(0), H = images.size(1), W = images.size(2), C = grad.size(3);
  const int64_t positions = grad.numel() / C;
  auto grad_weight = at::zeros({C, 1, 3, 3}, images.options());
  auto grad_bias = at::zeros({C}, images.options());
  AT_DISPATCH_FLOATING_TYPES(images.scalar_type(), "first_backward", [&] {
    const scalar_t *img = images.data_ptr<scalar_t>(), *g = grad.data_ptr<scalar_t>();
    const int32_t* wh = where.data_ptr<int32_t>();
    const int64_t per_image = grad.size(1) * grad.size(2);
    // Sums per image, in double, added up in image order: the same result on any number of threads.
    std::vector<double> sums(B * C * 10, 0.0);  // [image][channel][9 weights, bias]
    at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        double* sum = sums.data() + b * C * 10;
        for (int64_t p = b * per_image; p < (b + 1) * per_image; ++p)
          for (int64_t c = 0; c < C; ++c) {
            const int32_t at = wh[p * C + c];
            if (at < 0) continue;
            const double d = g[p * C + c];
            const int64_t y = at / W, x = at % W;
            double* s = sum + c * 10;
            s[9] += d;
            for (int64_t ky = 0; ky < 3; ++ky) {
              const int64_t yy = y + ky - 1;
              if (yy < 0 || yy >= H) continue;
              const scalar_t* src = img + (b * H + yy) * W;
              for (int64_t kx = 0; kx < 3; ++kx) {
                const int64_t xx = x + kx - 1;
                if (xx >= 0 && xx < W) s[ky * 3 + kx] += d * src[xx];
              }
            }
          }
      }
    });
    scalar_t *gw = grad_weight.data_ptr<scalar_t>(), *gb = grad_bias.data_ptr<scalar_t>();
    for (int64_t c = 0; c < C; ++c) {
      double total[10] = {};
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < 10; ++k) total[k] += sums[(b * C + c) * 10 + k];
      for (int64_t k = 0; k < 9; ++k) gw[c * 9 + k] = static_cast<scalar_t>(total[k]);
      gb[c] = static_cast<scalar_t>(total[9]);
    }
  });
  return {grad_weight, grad_bias};
}

// x (B, H, W, C), sizes (B, 2) -> out (B, Ho, Wo, C), where (B, Ho, Wo, C): mask, max-pool, ReLU.
std::vector<at::Tensor> pool_forward(at::Tensor x, at::Tensor sizes, int64_t ph, int64_t pw) {
  TORCH_CHECK(x.device().is_cpu() && x.dim() == 4 && x.is_contiguous(), "x must be a contiguous CPU (B, H, W, C) tensor");
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const auto outputs = pooled_outputs(B, H, W, C, sizes, ph, pw, x.options());
  const at::Tensor &out = outputs[0], &where = outputs[1];
  const int64_t Ho = out.size(1), Wo = out.size(2);
  auto s = sizes.contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pool_forward", [&] {
    const scalar_t* in = x.data_ptr<scalar_t>();
    const int64_t* sz = s.data_ptr<int64_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    int32_t* wh = where.data_ptr<int32_t>();
    at::parallel_for(0, B * Ho, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t b = item / Ho, yo = item % Ho, hb = std::min(sz[2 * b], H), wb = std::min(sz[2 * b + 1], W);
        const int64_t y0 = yo * ph, y1 = std::min(y0 + ph, hb);
        for (int64_t xo = 0; xo < ceil_div(wb, pw); ++xo) {
          const int64_t x0 = xo * pw, x1 = std::min(x0 + pw, wb), at = ((b * Ho + yo) * Wo + xo) * C;
          scalar_t* best = o + at;  // zeros: the ReLU's floor
          int32_t* from = wh + at;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t xx = x0; xx < x1; ++xx) {
              const scalar_t* v = in + ((b * H + y) * W + xx) * C;
              const int32_t here = static_cast<int32_t>(y * W + xx);
              for (int64_t c = 0; c < C; ++c) {  // no branches: vectorizes over the channels
                const bool more = v[c] > best[c] || v[c] != v[c];  // NaN wins, as in PyTorch
                best[c] = more ? v[c] : best[c];
                from[c] = more ? here : from[c];
              }
            }
        }
      }
    });
  });
  return outputs;
}

// The gradient of x (B, H, W, C) from the output's (B, Ho, Wo, C): each value to where its maximum came from.
at::Tensor pool_backward(at::Tensor grad, at::Tensor where, int64_t H, int64_t W) {
  TORCH_CHECK(grad.is_contiguous() && where.is_contiguous(), "contiguous tensors expected");
  const int64_t B = grad.size(0), C = grad.size(3), per_image = grad.size(1) * grad.size(2);
  auto grad_x = at::zeros({B, H, W, C}, grad.options());
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "pool_backward", [&] {
    const scalar_t* g = grad.data_ptr<scalar_t>();
    const int32_t* wh = where.data_ptr<int32_t>();
    scalar_t* gx = grad_x.data_ptr<scalar_t>();
    at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {  // windows do not overlap: no two writes meet
      for (int64_t b = begin; b < end; ++b)
        for (int64_t p = b * per_image; p < (b + 1) * per_image; ++p)
          for (int64_t c = 0; c < C; ++c) {
            const int32_t at = wh[p * C + c];
            if (at >= 0) gx[(b * H * W + at) * C + c] = g[p * C + c];
          }
    });
  });
  return grad_x;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("first_forward", &first_forward, "first stage, forward: (out, where)");
  m.def("first_backward", &first_backward, "first stage, backward: (grad_weight, grad_bias)");
  m.def("pool_forward", &pool_forward, "mask, max-pool and ReLU, forward: (out, where)");
  m.def("pool_backward", &pool_backward, "mask, max-pool and ReLU, backward: the gradient of x");
}
