/* static_prog.c - a statically linked program: `run` must refuse it. */
int main(void)
{
    return 0;
}
