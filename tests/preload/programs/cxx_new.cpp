// cxx_new.cpp - C++ new/delete[]: an array and an object lost through new,
// one array freed with delete[], one object kept in a global. Lost: 40 + 24.
#include <cstring>

struct thing {
    long a, b, c;
};

thing *volatile cxx_kept;
void *volatile cxx_slot;

__attribute__((noinline)) static void lose(void)
{
    int *arr = new int[10];
    std::memset(arr, 0, 10 * sizeof(int));
    cxx_slot = arr;
    cxx_slot = new thing();
    cxx_slot = nullptr;
}

int main()
{
    lose();
    char *freed = new char[100];
    cxx_slot = freed;
    delete[] freed;
    cxx_slot = nullptr;
    cxx_kept = new thing();
    return 0;
}
