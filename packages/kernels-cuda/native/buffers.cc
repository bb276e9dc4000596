// The handle table of buffers.h. One JS thread calls the addon, so the table needs no lock.
#include "buffers.h"
#include <unordered_map>
#include "runtime.h"

namespace dcf {
namespace {

struct Table {
  std::unordered_map<int64_t, DeviceBuffer> live;
  int64_t next = 1;
  size_t bytes = 0;
};

Table& table() {
  static Table t;
  return t;
}

}  // namespace

std::string bufferAlloc(size_t bytes, int64_t* handle) {
  void* p = nullptr;
  const std::string err = deviceAlloc(&p, bytes);
  if (!err.empty()) return err;
  Table& t = table();
  *handle = t.next++;
  t.live[*handle] = {p, bytes};
  t.bytes += bytes;
  return "";
}

bool bufferFree(int64_t handle) {
  Table& t = table();
  const auto it = t.live.find(handle);
  if (it == t.live.end()) return false;
  deviceFree(it->second.ptr);
  t.bytes -= it->second.bytes;
  t.live.erase(it);
  return true;
}

const DeviceBuffer* findBuffer(int64_t handle) {
  const auto it = table().live.find(handle);
  return it == table().live.end() ? nullptr : &it->second;
}

size_t bufferBytes() { return table().bytes; }
size_t bufferCount() { return table().live.size(); }

}  // namespace dcf
