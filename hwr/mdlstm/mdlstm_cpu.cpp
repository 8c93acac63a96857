// Fused CPU kernel for the top-left MDLSTM scans of hwr.mdlstm.scan.
//
// Equations and tensor layout: see hwr/mdlstm/__init__.py and hwr/mdlstm/scan.py.
// One (direction, image) pair is one raster scan, so pairs run in parallel over
// torch's intra-op threads; within a scan every position is a small vector-matrix
// product plus the gate arithmetic, fused so nothing leaves the cache.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// out[0:cols] += sum_k x[k] * m[k * ld + 0:cols], in register-sized column blocks.
template <typename T>
inline void vecmat_acc(const T* x, int64_t rows, const T* m, int64_t ld, int64_t cols, T* out) {
  constexpr int64_t kBlock = 64 / sizeof(T) * 2;  // two cache lines of accumulators
  int64_t c0 = 0;
  for (; c0 + kBlock <= cols; c0 += kBlock) {
    T acc[kBlock];
    for (int64_t t = 0; t < kBlock; ++t) acc[t] = out[c0 + t];
    for (int64_t k = 0; k < rows; ++k) {
      const T s = x[k];
      const T* row = m + k * ld + c0;
      for (int64_t t = 0; t < kBlock; ++t) acc[t] += s * row[t];
    }
    for (int64_t t = 0; t < kBlock; ++t) out[c0 + t] = acc[t];
  }
  if (c0 < cols) {
    const int64_t rest = cols - c0;
    for (int64_t k = 0; k < rows; ++k) {
      const T s = x[k];
      const T* row = m + k * ld + c0;
      for (int64_t t = 0; t < rest; ++t) out[c0 + t] += s * row[t];
    }
  }
}

void check_inputs(const at::Tensor& z, const at::Tensor& w, const at::Tensor& p, const at::Tensor& sizes) {
  TORCH_CHECK(z.device().is_cpu() && z.dim() == 5 && z.is_contiguous(), "z must be a contiguous CPU (D,B,H,W,5N) tensor");
  TORCH_CHECK(w.is_contiguous() && p.is_contiguous(), "weights must be contiguous");
  TORCH_CHECK(w.scalar_type() == z.scalar_type() && p.scalar_type() == z.scalar_type(), "dtype mismatch");
  TORCH_CHECK(sizes.scalar_type() == at::kLong && sizes.dim() == 2 && sizes.size(1) == 2, "sizes must be (B,2) int64");
}

}  // namespace

std::vector<at::Tensor> mdlstm_forward(at::Tensor z, at::Tensor weight_hh, at::Tensor peephole, at::Tensor sizes) {
  check_inputs(z, weight_hh, peephole, sizes);
  const int64_t D = z.size(0), B = z.size(1), H = z.size(2), W = z.size(3), G = z.size(4), N = G / 5;
  auto h = at::zeros({D, B, H, W, N}, z.options());
  auto c = at::zeros({D, B, H, W, N}, z.options());
  auto gates = at::zeros({D, B, H, W, G}, z.options());
  auto sizes_c = sizes.contiguous();
  const int64_t* sz = sizes_c.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "mdlstm_forward", [&] {
    const scalar_t* zp = z.data_ptr<scalar_t>();
    const scalar_t* wp = weight_hh.data_ptr<scalar_t>();
    const scalar_t* pp = peephole.data_ptr<scalar_t>();
    scalar_t* hp = h.data_ptr<scalar_t>();
    scalar_t* cp = c.data_ptr<scalar_t>();
    scalar_t* gp = gates.data_ptr<scalar_t>();
    at::parallel_for(0, D * B, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> pred(2 * N), a(G), zeros(N, scalar_t(0));
      for (int64_t db = begin; db < end; ++db) {
        const int64_t d = db / B, b = db % B;
        const int64_t hb = sz[2 * b], wb = sz[2 * b + 1];
        const scalar_t* U = wp + d * 2 * N * G;
        const scalar_t *p_i = pp + d * 4 * N, *p_f1 = p_i + N, *p_f2 = p_i + 2 * N, *p_o = p_i + 3 * N;
        const int64_t base = db * H * W;
        for (int64_t i = 0; i < hb; ++i) {
          for (int64_t j = 0; j < wb; ++j) {
            const int64_t pos = base + i * W + j;
            const scalar_t* h_up = i > 0 ? hp + (pos - W) * N : zeros.data();
            const scalar_t* h_left = j > 0 ? hp + (pos - 1) * N : zeros.data();
            const scalar_t* c_up = i > 0 ? cp + (pos - W) * N : zeros.data();
            const scalar_t* c_left = j > 0 ? cp + (pos - 1) * N : zeros.data();
            std::copy(h_up, h_up + N, pred.begin());
            std::copy(h_left, h_left + N, pred.begin() + N);
            std::copy(zp + pos * G, zp + (pos + 1) * G, a.begin());
            vecmat_acc(pred.data(), 2 * N, U, G, G, a.data());
            scalar_t* gate = gp + pos * G;
            scalar_t* cell = cp + pos * N;
            scalar_t* hidden = hp + pos * N;
            for (int64_t n = 0; n < N; ++n) {
              const scalar_t in_gate = sigmoid(a[n] + p_i[n] * (c_up[n] + c_left[n]));
              const scalar_t forget_up = sigmoid(a[N + n] + p_f1[n] * c_up[n]);
              const scalar_t forget_left = sigmoid(a[2 * N + n] + p_f2[n] * c_left[n]);
              const scalar_t cell_in = std::tanh(a[4 * N + n]);
              const scalar_t cn = in_gate * cell_in + forget_up * c_up[n] + forget_left * c_left[n];
              const scalar_t out_gate = sigmoid(a[3 * N + n] + p_o[n] * cn);
              cell[n] = cn;
              hidden[n] = out_gate * std::tanh(cn);
              gate[n] = in_gate;
              gate[N + n] = forget_up;
              gate[2 * N + n] = forget_left;
              gate[3 * N + n] = out_gate;
              gate[4 * N + n] = cell_in;
            }
          }
        }
      }
    });
  });
  return {h, c, gates};
}

at::Tensor mdlstm_backward(at::Tensor grad_h, at::Tensor c, at::Tensor gates, at::Tensor weight_hh,
                           at::Tensor peephole, at::Tensor sizes) {
  check_inputs(gates, weight_hh, peephole, sizes);
  TORCH_CHECK(grad_h.is_contiguous() && c.is_contiguous(), "grad_h and c must be contiguous");
  const int64_t D = gates.size(0), B = gates.size(1), H = gates.size(2), W = gates.size(3), G = gates.size(4),
                N = G / 5;
  auto grad_z = at::zeros_like(gates);
  auto grad_c = at::zeros_like(c);
  // weight_hh transposed to (D, 5N, 2N) so that h-gradients are vector-matrix products too.
  auto weight_t = weight_hh.transpose(1, 2).contiguous();
  auto sizes_c = sizes.contiguous();
  const int64_t* sz = sizes_c.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "mdlstm_backward", [&] {
    const scalar_t* dhp = grad_h.data_ptr<scalar_t>();
    const scalar_t* cp = c.data_ptr<scalar_t>();
    const scalar_t* gp = gates.data_ptr<scalar_t>();
    const scalar_t* wtp = weight_t.data_ptr<scalar_t>();
    const scalar_t* pp = peephole.data_ptr<scalar_t>();
    scalar_t* dzp = grad_z.data_ptr<scalar_t>();
    scalar_t* dcp = grad_c.data_ptr<scalar_t>();
    at::parallel_for(0, D * B, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> dh(N), zeros(N, scalar_t(0));
      for (int64_t db = begin; db < end; ++db) {
        const int64_t d = db / B, b = db % B;
        const int64_t hb = sz[2 * b], wb = sz[2 * b + 1];
        const scalar_t* UT = wtp + d * G * 2 * N;
        const scalar_t *p_i = pp + d * 4 * N, *p_f1 = p_i + N, *p_f2 = p_i + 2 * N, *p_o = p_i + 3 * N;
        const int64_t base = db * H * W;
        for (int64_t i = hb - 1; i >= 0; --i) {
          for (int64_t j = wb - 1; j >= 0; --j) {
            const int64_t pos = base + i * W + j;
            const bool has_down = i + 1 < hb, has_right = j + 1 < wb;
            std::copy(dhp + pos * N, dhp + (pos + 1) * N, dh.begin());
            const scalar_t* c_up = i > 0 ? cp + (pos - W) * N : zeros.data();
            const scalar_t* c_left = j > 0 ? cp + (pos - 1) * N : zeros.data();
            const scalar_t* cell = cp + pos * N;
            const scalar_t* gate = gp + pos * G;
            const int64_t down = has_down ? pos + W : pos, right = has_right ? pos + 1 : pos;
            const scalar_t *down_gate = gp + down * G, *down_dz = dzp + down * G, *down_dc = dcp + down * N;
            const scalar_t *right_gate = gp + right * G, *right_dz = dzp + right * G, *right_dc = dcp + right * N;
            if (has_down) vecmat_acc(down_dz, G, UT, 2 * N, N, dh.data());
            if (has_right) vecmat_acc(right_dz, G, UT + N, 2 * N, N, dh.data());
            scalar_t* da = dzp + pos * G;
            for (int64_t n = 0; n < N; ++n) {
              const scalar_t in_gate = gate[n], forget_up = gate[N + n], forget_left = gate[2 * N + n];
              const scalar_t out_gate = gate[3 * N + n], cell_in = gate[4 * N + n];
              scalar_t dc_in = 0;
              if (has_down)
                dc_in += down_dc[n] * down_gate[N + n] + down_dz[n] * p_i[n] + down_dz[N + n] * p_f1[n];
              if (has_right)
                dc_in += right_dc[n] * right_gate[2 * N + n] + right_dz[n] * p_i[n] + right_dz[2 * N + n] * p_f2[n];
              const scalar_t tanh_cell = std::tanh(cell[n]);
              const scalar_t da_o = dh[n] * tanh_cell * out_gate * (1 - out_gate);
              const scalar_t dc = dh[n] * out_gate * (1 - tanh_cell * tanh_cell) + da_o * p_o[n] + dc_in;
              dcp[pos * N + n] = dc;
              da[n] = dc * cell_in * in_gate * (1 - in_gate);
              da[N + n] = dc * c_up[n] * forget_up * (1 - forget_up);
              da[2 * N + n] = dc * c_left[n] * forget_left * (1 - forget_left);
              da[3 * N + n] = da_o;
              da[4 * N + n] = dc * in_gate * (1 - cell_in * cell_in);
            }
          }
        }
      }
    });
  });
  return grad_z;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &mdlstm_forward, "MDLSTM top-left scans, forward: (h, c, gates)");
  m.def("backward", &mdlstm_backward, "MDLSTM top-left scans, backward: grad of z");
}
