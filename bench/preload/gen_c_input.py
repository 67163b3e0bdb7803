#!/usr/bin/env python3
"""gen_c_input.py - writes a C file for the cc1 workload of compare.sh:
N functions with loops, structs, switches and calls, so gcc -O2 spends
most of its time in its optimisers and its garbage-collected heap.
    gen_c_input.py N > input.c"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
print("#include <stddef.h>\nstruct rec { int a, b; double c; struct rec *next; char name[16]; };")
for i in range(n):
    print(f"""
static int tbl{i}[64];
int f{i}(struct rec *r, int k)
{{
    int acc = {i};
    for (int j = 0; j < k; j++) {{
        switch ((j + acc) & 7) {{
        case 0: acc += r->a * j; break;
        case 1: acc ^= r->b << (j & 3); break;
        case 2: acc -= (int)(r->c * j); break;
        case 3: tbl{i}[j & 63] += acc; break;
        case 4: if (r->next) acc += r->next->a; break;
        case 5: acc += r->name[j & 15]; break;
        default: acc = acc * 31 + j;
        }}
    }}
    {"" if i == 0 else f"if (k > 3) acc += f{i - 1}(r, k - 3);"}
    return acc + tbl{i}[k & 63];
}}""")
