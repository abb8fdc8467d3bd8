// A program that replaces operator new and operator delete with its own,
// on top of malloc and free, and not the array forms (groff's troff does):
// the array forms, and the nothrow one, it gets from libpooldbg. Natively
// the defaults forward them to its operators, so every pairing below is
// malloc and free underneath; none is an alloc-dealloc mismatch.
// Built -O2 and stripped, like a distribution's binary.
//
// usage: ownnew   (exit 0, "SURVIVED")
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

void *operator new(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("out of memory\n", stderr);
        exit(1);
    }
    return p;
}
void operator delete(void *p) noexcept { free(p); }
void operator delete(void *p, size_t) noexcept { free(p); }

struct Obj {
    char bytes[32];
};

// groff's strsave: malloc, released by the callers with delete[].
__attribute__((noinline)) static char *save(const char *s)
{
    char *p = static_cast<char *>(malloc(strlen(s) + 1));
    strcpy(p, s);
    return p;
}

int main()
{
    setvbuf(stdout, nullptr, _IONBF, 0);
    // its operator new, our operator delete[]
    void *raw = ::operator new(24);
    printf("ADDR %p\n", raw);
    ::operator delete[](raw);
    // malloc, our operator delete[]
    char *s = save("a string");
    printf("ADDR %p\n", (void *)s);
    delete[] s;
    // our operator new[] and nothrow new, its operator delete
    char *chars = new char[24];
    printf("ADDR %p\n", (void *)chars);
    ::operator delete(chars);
    Obj *o = new (std::nothrow) Obj();
    printf("ADDR %p\n", (void *)o);
    delete o;
    printf("SURVIVED\n");
    return 0;
}
