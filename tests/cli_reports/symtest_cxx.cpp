// symtest_cxx.cpp - a C++ library for test_symbolize.c: a return address
// inside a namespaced member function, whose name must come out demangled.
// -O0, so the call stays a call.
namespace geo {
struct Shape {
    static void *where();
};
}

extern "C" __attribute__((noinline, visibility("default"))) void *symtest_cxx_capture()
{
    return __builtin_return_address(0);
}

__attribute__((noinline)) void *geo::Shape::where()
{
    return symtest_cxx_capture();
}

extern "C" __attribute__((visibility("default"))) void *symtest_cxx_entry()
{
    return geo::Shape::where();
}
