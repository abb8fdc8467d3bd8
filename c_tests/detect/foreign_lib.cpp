// A C++ library whose operator new and delete are its own, built four ways
// by scripts/detect_tests.py, each stripped:
//   libforeign_static.so    libstdc++ linked in statically, every symbol of
//                           it hidden (--exclude-libs ALL): the operators
//                           are in no symbol table at all
//   libforeign_hidden.so    its own operators (OWN_OPERATORS), hidden by a
//                           version script that exports only namespace fl
//   libforeign_symbolic.so  its own operators, exported but bound to itself
//                           (-Bsymbolic-functions), as libLLVM's are
// Blocks it makes with new reach libpooldbg as malloc'd and are deleted by
// the program through the global operator delete (ours); blocks the program
// makes with new are deleted by the library's operator delete, which calls
// free. Neither is an alloc-dealloc mismatch.
#include <cstddef>
#include <cstdlib>
#include <new>

#ifdef OWN_OPERATORS
void *operator new(std::size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}
void *operator new[](std::size_t n) { return operator new(n); }
void operator delete(void *p) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete(void *p, std::size_t) noexcept { free(p); }
void operator delete[](void *p, std::size_t) noexcept { free(p); }
#endif

namespace fl {

struct Obj {
    char bytes[32];
};

Obj *make_obj() { return new Obj(); }
char *make_chars(std::size_t n) { return new char[n]; }
// Each ends in a tail call to the operator: no frame of these functions is
// left when free runs.
void drop_obj(Obj *p) { delete p; }
void drop_chars(char *p) { delete[] p; }

} // namespace fl
