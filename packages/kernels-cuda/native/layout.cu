// The layout kernel of the `cuda` tfjs backend: one strided copy, a thread per element of the
// iteration shape, that reads src through one set of strides (with an optional modulo per dimension,
// for Tile) and writes dst through another. Transpose (permuted strides), Slice and StridedSlice
// (offset and signed strides), Concat, Pack and PadV2 (writes into a region of the output), Unpack
// and SplitV (reads of a region), Tile (modulo) and BroadcastTo (stride 0) are all this copy with
// strides worked out in src/kernels/layout.ts. Elements are moved as 4-byte or 1-byte words.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

template <class T>
struct Copy {
  const T* src;
  T* dst;
  int64_t srcOffset, dstOffset;
  Strides s;  // s.a: source strides, s.c: destination strides
  int64_t mod[kMaxRank];
  __host__ __device__ void operator()(int64_t i) const {
    int64_t from = srcOffset, to = dstOffset;
    for (int d = s.rank - 1; d >= 0; d--) {
      const int64_t k = i % s.shape[d];
      i /= s.shape[d];
      from += (mod[d] > 0 ? k % mod[d] : k) * s.a[d];
      to += k * s.c[d];
    }
    dst[to] = src[from];
  }
};

template <class T>
void launch(const void* src, int64_t srcOffset, void* dst, int64_t dstOffset, const Strides& s, const int64_t* mod) {
  Copy<T> c{static_cast<const T*>(src), static_cast<T*>(dst), srcOffset, dstOffset, s, {}};
  int64_t n = 1;
  for (int d = 0; d < s.rank; d++) {
    n *= s.shape[d];
    c.mod[d] = mod != nullptr ? mod[d] : 0;
  }
  forEachIndex(c, n);
}

}  // namespace

void stridedCopy(int elemBytes, const void* src, int64_t srcOffset, void* dst, int64_t dstOffset, const Strides& s, const int64_t* mod) {
  if (elemBytes == 4)
    launch<uint32_t>(src, srcOffset, dst, dstOffset, s, mod);
  else
    launch<uint8_t>(src, srcOffset, dst, dstOffset, s, mod);
}

}  // namespace dcf
