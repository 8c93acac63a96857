// Fused CPU kernel for the MDLSTM scans of hwr.mdlstm.scan.
//
// Equations and tensor layout: see hwr/mdlstm/__init__.py and hwr/mdlstm/scan.py.
// Tensors are in image layout (B, H, W, D, F). One (image, direction) pair is one
// raster scan from that direction's corner of the image; the scans of up to four
// images run in lockstep, and the four directions in parallel over torch's intra-op
// threads. Every step is a small product of the images' vectors with the recurrent
// weights plus the gate arithmetic, fused so nothing leaves the cache.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

// exp as plain arithmetic, so the compiler inlines it (glibc's
// exp and tanh are calls, and dominated the small layers). Cody-Waite range
// reduction x = n ln2 + r, |r| <= ln2/2, then a Taylor polynomial of degree 7
// (float) or 13 (double): truncation error below 0.1 ulp. Arguments are clamped
// to the normal range, which only matters where the result is ~0 or overflows.
template <typename T>
struct ExpConstants;
template <>
struct ExpConstants<float> {
  static constexpr float lo = -87.3f, hi = 88.3f, ln2_hi = 0.693145751953125f, ln2_lo = 1.428606820309417232e-6f;
  static constexpr int degree = 7, bias = 127, mantissa = 23;
  using Int = int32_t;
};
template <>
struct ExpConstants<double> {
  static constexpr double lo = -708.0, hi = 709.0, ln2_hi = 6.93147180369123816490e-01,
                          ln2_lo = 1.90821492927058770002e-10;
  static constexpr int degree = 13, bias = 1023, mantissa = 52;
  using Int = int64_t;
};

template <typename T>
constexpr T inverse_factorial(int k) {
  T f = T(1);
  for (int i = 2; i <= k; ++i) f *= T(i);
  return T(1) / f;
}

// Horner on the coefficients 1/k!, which fold to constants (one FMA per degree),
// unrolled at compile time: a loop here would stop the gate loops from vectorizing.
template <typename T, int K, int Degree>
struct Horner {
  static inline T eval(T r) { return Horner<T, K + 1, Degree>::eval(r) * r + inverse_factorial<T>(K); }
};
template <typename T, int Degree>
struct Horner<T, Degree, Degree> {
  static inline T eval(T) { return inverse_factorial<T>(Degree); }
};

template <typename T>
inline T fast_exp(T x) {
  using K = ExpConstants<T>;
  x = std::min(std::max(x, T(K::lo)), T(K::hi));
  const T n = std::floor(x * T(1.4426950408889634) + T(0.5));
  const T r = (x - n * T(K::ln2_hi)) - n * T(K::ln2_lo);
  const T p = Horner<T, 0, K::degree>::eval(r);
  const typename K::Int bits = (static_cast<typename K::Int>(n) + K::bias) << K::mantissa;
  T scale;
  std::memcpy(&scale, &bits, sizeof(T));
  return p * scale;
}

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + fast_exp(-x));
}

// tanh through one exp; exact to a few ulp of 1 (near 0 the absolute error is ~1 ulp).
template <typename T>
inline T fast_tanh(T x) {
  const T e = fast_exp(T(-2) * std::abs(x));
  const T t = (T(1) - e) / (T(1) + e);
  return std::copysign(t, x);
}

// Up to GROUP images are scanned in lockstep: at each step of the scan, the vector-matrix
// products of all of them read each row of the recurrent weights once. A layer's weights
// (2N x 5N per direction: 160 KiB at N = 64) do not fit in the first-level cache, so a
// product of one vector waits on loading them; four vectors share the load.
constexpr int64_t GROUP = 4;

// out[b][0:Cols] += sum_k x[b][k] * m[k * ld + 0:Cols] for the GROUP vectors x[b].
template <typename T, int64_t Cols>
inline void vecmat_group_block(const T* const* x, int64_t rows, const T* m, int64_t ld, int64_t c, T* const* out) {
  T acc[GROUP][Cols] = {};
  for (int64_t k = 0; k < rows; ++k) {
    const T* row = m + k * ld + c;
    for (int64_t b = 0; b < GROUP; ++b) {
      const T s = x[b][k];
      for (int64_t t = 0; t < Cols; ++t) acc[b][t] += s * row[t];
    }
  }
  for (int64_t b = 0; b < GROUP; ++b)
    for (int64_t t = 0; t < Cols; ++t) out[b][c + t] += acc[b][t];
}

// out[b][0:cols] += sum_k x[b][k] * m[k * ld + 0:cols] for b < GROUP: blocks of 4, 2, 1 vector
// registers per vector (4 x 4 accumulator chains hide the FMA latency), then the last columns.
template <typename T>
inline void vecmat_group(const T* const* x, int64_t rows, const T* m, int64_t ld, int64_t cols, T* const* out) {
  constexpr int64_t V = 32 / sizeof(T);  // lanes of one AVX register
  int64_t c = 0;
  for (; c + 4 * V <= cols; c += 4 * V) vecmat_group_block<T, 4 * V>(x, rows, m, ld, c, out);
  if (c + 2 * V <= cols) vecmat_group_block<T, 2 * V>(x, rows, m, ld, c, out), c += 2 * V;
  if (c + V <= cols) vecmat_group_block<T, V>(x, rows, m, ld, c, out), c += V;
  for (; c < cols; ++c)
    for (int64_t b = 0; b < GROUP; ++b) {
      T sum = out[b][c];
      for (int64_t k = 0; k < rows; ++k) sum += x[b][k] * m[k * ld + c];
      out[b][c] = sum;
    }
}

void check_inputs(const at::Tensor& z, const at::Tensor& w, const at::Tensor& p, const at::Tensor& sizes) {
  TORCH_CHECK(z.device().is_cpu() && z.dim() == 5 && z.is_contiguous(), "z must be a contiguous CPU (B,H,W,D,5N) tensor");
  TORCH_CHECK(w.is_contiguous() && p.is_contiguous(), "weights must be contiguous");
  TORCH_CHECK(w.scalar_type() == z.scalar_type() && p.scalar_type() == z.scalar_type(), "dtype mismatch");
  TORCH_CHECK(sizes.scalar_type() == at::kLong && sizes.dim() == 2 && sizes.size(1) == 2, "sizes must be (B,2) int64");
}

// Where scan d of an image of size hb x wb starts and which way it moves (in image coordinates).
struct Scan {
  int64_t row0, col0, row_step, col_step;
  Scan(int64_t d, int64_t hb, int64_t wb)
      : row0(d >= 2 ? hb - 1 : 0), col0(d % 2 ? wb - 1 : 0), row_step(d >= 2 ? -1 : 1), col_step(d % 2 ? -1 : 1) {}
};

// Zero the F values of scan d at every position of image b outside its hb x wb region.
template <typename T>
void zero_outside(T* x, int64_t b, int64_t d, int64_t hb, int64_t wb, int64_t H, int64_t W, int64_t D, int64_t F) {
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = (i < hb ? wb : 0); j < W; ++j) std::fill_n(x + (((b * H + i) * W + j) * D + d) * F, F, T(0));
}

}  // namespace

// The scans, one direction of a group of images at a time. NC is the hidden size when it
// is known at compile time (0 otherwise): for the small layers, fully unrolled
// gate loops are several times faster than loops of run-time length.

template <typename T>
struct Tensors {
  const T *z, *weight_hh, *weight_t, *peephole, *grad_h;
  T *h, *c, *gates, *grad_z, *grad_c;
  const int64_t* sizes;
  int64_t H, W, D, N;
};

// The sizes of the images b0 .. b0 + nb - 1 (at most GROUP; 0 x 0 for the rest of a group) and
// the largest of each.
struct Group {
  int64_t b0, nb, hb[GROUP], wb[GROUP], rows = 0, cols = 0;
  Group(const int64_t* sizes, int64_t b0_, int64_t nb_) : b0(b0_), nb(nb_) {
    for (int64_t g = 0; g < GROUP; ++g) {
      hb[g] = g < nb ? sizes[2 * (b0 + g)] : 0;
      wb[g] = g < nb ? sizes[2 * (b0 + g) + 1] : 0;
      rows = std::max(rows, hb[g]);
      cols = std::max(cols, wb[g]);
    }
  }
  bool active(int64_t g, int64_t si, int64_t sj) const { return si < hb[g] && sj < wb[g]; }
};

template <int NC, typename T>
void forward_scan(const Tensors<T>& t, const Group& group, int64_t d) {
  const int64_t N = NC > 0 ? NC : t.N, G = 5 * N, H = t.H, W = t.W, D = t.D;
  const Scan way(d, 1, 1);  // the steps are the same for every image
  const int64_t up_step = way.row_step * W * D, left_step = way.col_step * D;
  const T *U_up = t.weight_hh + d * 2 * N * G, *U_left = U_up + N * G;
  const T *p_i = t.peephole + d * 4 * N, *p_f1 = p_i + N, *p_f2 = p_i + 2 * N, *p_o = p_i + 3 * N;
  // Stand in for the predecessors and pre-activations of an image the step is outside of.
  std::vector<T> zeros(G, T(0)), scratch(GROUP * G);
  for (int64_t si = 0; si < group.rows; ++si) {
    for (int64_t sj = 0; sj < group.cols; ++sj) {
      int64_t pos[GROUP];
      const T *h_up[GROUP], *h_left[GROUP];
      T* a[GROUP];  // pre-activations, turned into gates in place
      for (int64_t g = 0; g < GROUP; ++g) {
        h_up[g] = h_left[g] = zeros.data();
        a[g] = scratch.data() + g * G;
        if (!group.active(g, si, sj)) continue;
        const Scan scan(d, group.hb[g], group.wb[g]);
        pos[g] = ((group.b0 + g) * H + scan.row0 + si * scan.row_step) * W * D + (scan.col0 + sj * scan.col_step) * D + d;
        a[g] = t.gates + pos[g] * G;
        std::copy_n(t.z + pos[g] * G, G, a[g]);
        if (si > 0) h_up[g] = t.h + (pos[g] - up_step) * N;
        if (sj > 0) h_left[g] = t.h + (pos[g] - left_step) * N;
      }
      if (si > 0) vecmat_group(h_up, N, U_up, G, G, a);
      if (sj > 0) vecmat_group(h_left, N, U_left, G, G, a);
      for (int64_t g = 0; g < GROUP; ++g) {
        if (!group.active(g, si, sj)) continue;
        const T* c_up = si > 0 ? t.c + (pos[g] - up_step) * N : zeros.data();
        const T* c_left = sj > 0 ? t.c + (pos[g] - left_step) * N : zeros.data();
        T* gate = a[g];
        T* cell = t.c + pos[g] * N;
        T* hidden = t.h + pos[g] * N;
        // One loop per step over whole gate vectors, so each one vectorizes.
        for (int64_t n = 0; n < N; ++n) {
          gate[n] += p_i[n] * (c_up[n] + c_left[n]);
          gate[N + n] += p_f1[n] * c_up[n];
          gate[2 * N + n] += p_f2[n] * c_left[n];
        }
        for (int64_t k = 0; k < 3 * N; ++k) gate[k] = sigmoid(gate[k]);
        for (int64_t n = 0; n < N; ++n) gate[4 * N + n] = fast_tanh(gate[4 * N + n]);
        for (int64_t n = 0; n < N; ++n)
          cell[n] = gate[n] * gate[4 * N + n] + gate[N + n] * c_up[n] + gate[2 * N + n] * c_left[n];
        for (int64_t n = 0; n < N; ++n) {
          gate[3 * N + n] = sigmoid(gate[3 * N + n] + p_o[n] * cell[n]);
          hidden[n] = gate[3 * N + n] * fast_tanh(cell[n]);
        }
      }
    }
  }
  for (int64_t g = 0; g < group.nb; ++g) {
    const int64_t b = group.b0 + g;
    zero_outside(t.h, b, d, group.hb[g], group.wb[g], H, W, D, N);
    zero_outside(t.c, b, d, group.hb[g], group.wb[g], H, W, D, N);
    zero_outside(t.gates, b, d, group.hb[g], group.wb[g], H, W, D, G);
  }
}

// The gradients of z; those of weight_hh and peephole are sums over all positions,
// computed from whole tensors afterwards (hwr.mdlstm.scan.recurrent_weight_grads).
template <int NC, typename T>
void backward_scan(const Tensors<T>& t, const Group& group, int64_t d) {
  const int64_t N = NC > 0 ? NC : t.N, G = 5 * N, H = t.H, W = t.W, D = t.D;
  const Scan way(d, 1, 1);
  const int64_t down_step = way.row_step * W * D, right_step = way.col_step * D;
  const T* UT = t.weight_t + d * G * 2 * N;
  const T *p_i = t.peephole + d * 4 * N, *p_f1 = p_i + N, *p_f2 = p_i + 2 * N, *p_o = p_i + 3 * N;
  // Stands in for the gates and gradients of a successor outside the image, so that
  // the gate loop has no branches (and vectorizes); and for an image the step is outside of.
  std::vector<T> zeros(G, T(0)), scratch(GROUP * N);
  for (int64_t si = group.rows - 1; si >= 0; --si) {
    for (int64_t sj = group.cols - 1; sj >= 0; --sj) {
      int64_t pos[GROUP];
      bool has_down[GROUP], has_right[GROUP], any_down = false, any_right = false;
      const T *down_dz[GROUP], *right_dz[GROUP];
      T* dh[GROUP];  // the h-gradient first, then overwritten by the c-gradient
      for (int64_t g = 0; g < GROUP; ++g) {
        down_dz[g] = right_dz[g] = zeros.data();
        dh[g] = scratch.data() + g * N;
        has_down[g] = has_right[g] = false;
        if (!group.active(g, si, sj)) continue;
        const Scan scan(d, group.hb[g], group.wb[g]);
        pos[g] = ((group.b0 + g) * H + scan.row0 + si * scan.row_step) * W * D + (scan.col0 + sj * scan.col_step) * D + d;
        has_down[g] = si + 1 < group.hb[g];
        has_right[g] = sj + 1 < group.wb[g];
        any_down |= has_down[g];
        any_right |= has_right[g];
        if (has_down[g]) down_dz[g] = t.grad_z + (pos[g] + down_step) * G;
        if (has_right[g]) right_dz[g] = t.grad_z + (pos[g] + right_step) * G;
        dh[g] = t.grad_c + pos[g] * N;
        std::copy_n(t.grad_h + pos[g] * N, N, dh[g]);
      }
      if (any_down) vecmat_group(down_dz, G, UT, 2 * N, N, dh);
      if (any_right) vecmat_group(right_dz, G, UT + N, 2 * N, N, dh);
      for (int64_t g = 0; g < GROUP; ++g) {
        if (!group.active(g, si, sj)) continue;
        const int64_t down = pos[g] + down_step, right = pos[g] + right_step;
        const T* down_gate = has_down[g] ? t.gates + down * G : zeros.data();
        const T* down_dc = has_down[g] ? t.grad_c + down * N : zeros.data();
        const T* right_gate = has_right[g] ? t.gates + right * G : zeros.data();
        const T* right_dc = has_right[g] ? t.grad_c + right * N : zeros.data();
        const T *ddz = down_dz[g], *rdz = right_dz[g];
        const T* c_up = si > 0 ? t.c + (pos[g] - down_step) * N : zeros.data();
        const T* c_left = sj > 0 ? t.c + (pos[g] - right_step) * N : zeros.data();
        const T* cell = t.c + pos[g] * N;
        const T* gate = t.gates + pos[g] * G;
        T* dc_out = dh[g];
        T* da = t.grad_z + pos[g] * G;
        for (int64_t n = 0; n < N; ++n) {
          const T in_gate = gate[n], forget_up = gate[N + n], forget_left = gate[2 * N + n];
          const T out_gate = gate[3 * N + n], cell_in = gate[4 * N + n];
          const T dc_in = down_dc[n] * down_gate[N + n] + ddz[n] * p_i[n] + ddz[N + n] * p_f1[n] +
                          right_dc[n] * right_gate[2 * N + n] + rdz[n] * p_i[n] + rdz[2 * N + n] * p_f2[n];
          const T tanh_cell = fast_tanh(cell[n]);
          const T da_o = dc_out[n] * tanh_cell * out_gate * (1 - out_gate);
          const T dc = dc_out[n] * out_gate * (1 - tanh_cell * tanh_cell) + da_o * p_o[n] + dc_in;
          dc_out[n] = dc;
          da[n] = dc * cell_in * in_gate * (1 - in_gate);
          da[N + n] = dc * c_up[n] * forget_up * (1 - forget_up);
          da[2 * N + n] = dc * c_left[n] * forget_left * (1 - forget_left);
          da[3 * N + n] = da_o;
          da[4 * N + n] = dc * in_gate * (1 - cell_in * cell_in);
        }
      }
    }
  }
  for (int64_t g = 0; g < group.nb; ++g)
    zero_outside(t.grad_z, group.b0 + g, d, group.hb[g], group.wb[g], H, W, D, G);
}

// Runs scan<NC>(t, group, d) for every direction and group of GROUP images, directions in
// parallel over torch's threads.
template <typename T, typename Scanner>
void run_scans(const Tensors<T>& t, int64_t B, Scanner scanner) {
  at::parallel_for(0, t.D, 1, [&](int64_t begin, int64_t end) {
    for (int64_t d = begin; d < end; ++d)
      for (int64_t b = 0; b < B; b += GROUP) scanner(t, Group(t.sizes, b, std::min(GROUP, B - b)), d);
  });
}

#define HWR_SCAN_DISPATCH(SCAN, T, N, ...)                 \
  switch (N) {                                               \
    case 2: run_scans<T>(__VA_ARGS__, SCAN<2, T>); break;    \
    case 10: run_scans<T>(__VA_ARGS__, SCAN<10, T>); break;  \
    case 50: run_scans<T>(__VA_ARGS__, SCAN<50, T>); break;  \
    case 32: run_scans<T>(__VA_ARGS__, SCAN<32, T>); break;  \
    case 64: run_scans<T>(__VA_ARGS__, SCAN<64, T>); break;  \
    default: run_scans<T>(__VA_ARGS__, SCAN<0, T>); break;   \
  }

std::vector<at::Tensor> mdlstm_forward(at::Tensor z, at::Tensor weight_hh, at::Tensor peephole, at::Tensor sizes) {
  check_inputs(z, weight_hh, peephole, sizes);
  const int64_t B = z.size(0), H = z.size(1), W = z.size(2), D = z.size(3), G = z.size(4), N = G / 5;
  auto h = at::empty({B, H, W, D, N}, z.options());
  auto c = at::empty({B, H, W, D, N}, z.options());
  auto gates = at::empty({B, H, W, D, G}, z.options());
  auto sizes_c = sizes.contiguous();
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "mdlstm_forward", [&] {
    Tensors<scalar_t> t{z.data_ptr<scalar_t>(),  weight_hh.data_ptr<scalar_t>(), nullptr,
                        peephole.data_ptr<scalar_t>(), nullptr, h.data_ptr<scalar_t>(), c.data_ptr<scalar_t>(),
                        gates.data_ptr<scalar_t>(), nullptr, nullptr, sizes_c.data_ptr<int64_t>(), H, W, D, N};
    HWR_SCAN_DISPATCH(forward_scan, scalar_t, N, t, B)
  });
  return {h, c, gates};
}

at::Tensor mdlstm_backward(at::Tensor grad_h, at::Tensor c, at::Tensor gates, at::Tensor weight_hh,
                           at::Tensor peephole, at::Tensor sizes) {
  check_inputs(gates, weight_hh, peephole, sizes);
  TORCH_CHECK(grad_h.is_contiguous() && c.is_contiguous(), "grad_h and c must be contiguous");
  const int64_t B = gates.size(0), H = gates.size(1), W = gates.size(2), D = gates.size(3), N = gates.size(4) / 5;
  auto grad_z = at::empty_like(gates);
  auto grad_c = at::empty_like(c);  // scratch: written at each position before its predecessors read it
  // weight_hh transposed to (D, 5N, 2N) so that h-gradients are vector-matrix products too.
  auto weight_t = weight_hh.transpose(1, 2).contiguous();
  auto sizes_c = sizes.contiguous();
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "mdlstm_backward", [&] {
    Tensors<scalar_t> t{nullptr, nullptr, weight_t.data_ptr<scalar_t>(), peephole.data_ptr<scalar_t>(),
                        grad_h.data_ptr<scalar_t>(), nullptr, c.data_ptr<scalar_t>(),
                        gates.data_ptr<scalar_t>(), grad_z.data_ptr<scalar_t>(), grad_c.data_ptr<scalar_t>(),
                        sizes_c.data_ptr<int64_t>(), H, W, D, N};
    HWR_SCAN_DISPATCH(backward_scan, scalar_t, N, t, B)
  });
  return grad_z;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &mdlstm_forward, "MDLSTM scans, forward: (h, c, gates)");
  m.def("backward", &mdlstm_backward, "MDLSTM scans, backward: the gradient of z");
}
