// Argument checks shared by the Node-API entries of quant.cc and gemm16.cc: a RangeError naming
// the entry (`entryName`, set by each entry; thread_local, as worker threads call in too) and the
// argument. Include it inside the file's anonymous namespace, after <napi.h> and <string>.
#pragma once

// The entry an argument error names.
thread_local const char* entryName = "";

[[noreturn]] inline void fail(const Napi::CallbackInfo& info, const std::string& message) {
  throw Napi::RangeError::New(info.Env(), std::string(entryName) + " (native): " + message);
}

inline long countArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) fail(info, std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 9007199254740991.0 && v == (double)(long)v)) fail(info, std::string(name) + " must be a non-negative integer, got " + std::to_string(v));
  return (long)v;
}

/** The typed array at info[i], checked for kind and for holding at least `need` elements. */
inline void* arrayArg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type want, const char* kind, size_t need) {
  bool isTyped = false;
  napi_is_typedarray(info.Env(), info[i], &isTyped);
  if (!isTyped) fail(info, std::string(name) + " must be a " + kind);
  napi_typedarray_type actual;
  size_t length;
  void* data;
  napi_get_typedarray_info(info.Env(), info[i], &actual, &length, &data, nullptr, nullptr);
  if (actual != want) fail(info, std::string(name) + " must be a " + kind);
  if (length < need) fail(info, std::string(name) + " needs " + std::to_string(need) + " elements, found " + std::to_string(length));
  return data;
}
