/* The matrix product under the NumPy kernels in the browser: C (M x N) = A (M x K) @ B (K x N) + bias (N),
 * then max(0, .) when relu is set, float32, row-major, contiguous, with WebAssembly SIMD128. Bias and relu
 * are applied as the tiles are stored: NumPy would pass over the whole output twice more for them. Pyodide's NumPy has no BLAS and its own
 * loops are scalar in WebAssembly, so every convolution (im2col + a product) and dense layer ran there;
 * docs/benchmarks.md has the figures before and after.
 *
 * Built by build.py with Debian's clang and wasm-ld into a side module (dist/native/libkcgemm.so, its
 * sha256 in runtime.json) that Pyodide's dynamic loader accepts; py/kcsolver/kernels/numpy/native.py
 * loads it with ctypes, checks it against NumPy and times it before any kernel uses it.
 *
 * Register tiles of 4 rows x 8 columns: per k, two vectors of B's row and four broadcasts of A, eight
 * multiply-adds into eight accumulators that stay in registers; leftover rows take 1 x 8 tiles and
 * leftover columns (N not a multiple of 8) a plain loop. No libc, no allocation. */
#include <wasm_simd128.h>

#define MADD(acc, x, b) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(x, b))

/* What every stored vector goes through: + bias (its 4 columns), then relu when asked. */
static inline void store(float *C, v128_t value, v128_t bias, int relu) {
  value = wasm_f32x4_add(value, bias);
  wasm_v128_store(C, relu ? wasm_f32x4_max(value, wasm_f32x4_splat(0.0f)) : value);
}

static inline void tile_4x8(int N, int K, const float *A, const float *B, const float *bias, int relu, float *C) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const float *a0 = A, *a1 = A + K, *a2 = A + 2 * K, *a3 = A + 3 * K;
  for (int k = 0; k < K; k++) {
    const v128_t b0 = wasm_v128_load(B + k * N), b1 = wasm_v128_load(B + k * N + 4);
    v128_t x = wasm_f32x4_splat(a0[k]);
    MADD(c00, x, b0); MADD(c01, x, b1);
    x = wasm_f32x4_splat(a1[k]);
    MADD(c10, x, b0); MADD(c11, x, b1);
    x = wasm_f32x4_splat(a2[k]);
    MADD(c20, x, b0); MADD(c21, x, b1);
    x = wasm_f32x4_splat(a3[k]);
    MADD(c30, x, b0); MADD(c31, x, b1);
  }
  const v128_t bias0 = wasm_v128_load(bias), bias1 = wasm_v128_load(bias + 4);
  store(C, c00, bias0, relu);         store(C + 4, c01, bias1, relu);
  store(C + N, c10, bias0, relu);     store(C + N + 4, c11, bias1, relu);
  store(C + 2 * N, c20, bias0, relu); store(C + 2 * N + 4, c21, bias1, relu);
  store(C + 3 * N, c30, bias0, relu); store(C + 3 * N + 4, c31, bias1, relu);
}

static inline void tile_1x8(int N, int K, const float *A, const float *B, const float *bias, int relu, float *C) {
  v128_t c0 = wasm_f32x4_splat(0.0f), c1 = c0;
  for (int k = 0; k < K; k++) {
    const v128_t x = wasm_f32x4_splat(A[k]);
    MADD(c0, x, wasm_v128_load(B + k * N));
    MADD(c1, x, wasm_v128_load(B + k * N + 4));
  }
  store(C, c0, wasm_v128_load(bias), relu);
  store(C + 4, c1, wasm_v128_load(bias + 4), relu);
}

/* bias: N floats (the caller passes zeros for none); relu: nonzero for max(0, .). */
__attribute__((visibility("default")))
void kc_sgemm(int M, int N, int K, const float *A, const float *B, const float *bias, int relu, float *C) {
  const int rows4 = M & ~3, cols8 = N & ~7;
  for (int i = 0; i < rows4; i += 4)  /* 4 rows of A stay in cache while they meet all of B */
    for (int j = 0; j < cols8; j += 8) tile_4x8(N, K, A + i * K, B + j, bias + j, relu, C + i * N + j);
  for (int i = rows4; i < M; i++)
    for (int j = 0; j < cols8; j += 8) tile_1x8(N, K, A + i * K, B + j, bias + j, relu, C + i * N + j);
  for (int i = 0; i < M; i++)
    for (int j = cols8; j < N; j++) {
      float sum = bias[j];
      for (int k = 0; k < K; k++) sum += A[i * K + k] * B[k * N + j];
      C[i * N + j] = relu && sum < 0.0f ? 0.0f : sum;
    }
}
