// Device buffers that outlive a call: the storage of the `cuda` tfjs backend. JS holds a buffer as a
// number (its handle); every entry point that takes an array also takes a handle in its place
// (call.h), so kernels read and write device memory with no copy. The table maps handles to
// pointers so that a stale or made-up handle is an error that names it, never a wild pointer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dcf {

struct DeviceBuffer {
  void* ptr;
  size_t bytes;
};

/** Allocates `bytes` of device memory; "" and *handle > 0 on success, else the error. */
std::string bufferAlloc(size_t bytes, int64_t* handle);
/** Frees a buffer; false when `handle` names none. */
bool bufferFree(int64_t handle);
/** The live buffer `handle` names, or nullptr. */
const DeviceBuffer* findBuffer(int64_t handle);
/** Bytes and number of live buffers: the accounting `memory()` reports. */
size_t bufferBytes();
size_t bufferCount();

}  // namespace dcf
