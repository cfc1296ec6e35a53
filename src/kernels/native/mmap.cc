// mapFile(path): a copy-on-write memory map of a whole file as an external ArrayBuffer, so the
// safetensors loader (src/io/safetensors-mmap.ts) can use F32 tensors in place as parameter
// storage, as safetensors' safe_open and torch.load(mmap=True) do. No byte is read here: pages
// come from the page cache when first touched.
//
// MAP_PRIVATE + PROT_WRITE: writes (training, in-place updates) go to private copies of the
// touched pages and never reach the file. The descriptor is closed right after mmap (the mapping
// keeps the file alive); the ArrayBuffer's finalizer munmaps when V8 collects it.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace {

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "mapFile: path must be a string");
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
#ifdef _WIN32
  throw Napi::Error::New(env, "mapFile: " + path + ": memory mapping is not built on Windows");
#else
  const auto fail = [&](const char* what) {
    const int code = errno;
    return Napi::Error::New(env, "mapFile: " + path + ": " + what + " failed: " + std::strerror(code));
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail("open");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Napi::Error error = fail("fstat");
    close(fd);
    throw error;
  }
  const size_t length = (size_t)st.st_size;
  if (length == 0) {
    close(fd);
    throw Napi::Error::New(env, "mapFile: " + path + ": the file is empty");
  }
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  Napi::Error mapError = data == MAP_FAILED ? fail("mmap") : Napi::Error();
  close(fd);
  if (data == MAP_FAILED) throw mapError;
  // Throws (napi_no_external_buffers_allowed) where V8's sandbox forbids external memory; the
  // caller then falls back to reading.
  try {
    return Napi::ArrayBuffer::New(env, data, length, [](Napi::Env, void* mapped, size_t* bytes) {
      munmap(mapped, *bytes);
      delete bytes;
    }, new size_t(length));
  } catch (...) {
    munmap(data, length);
    throw;
  }
#endif
}

}  // namespace

// Called from addon.cc's Init, as registerQuantKernels is.
void registerMmap(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, MapFile, "mapFile"));
}
