/* A testbench scoreboard in C, the shape of the RegisterWb one: seeded writes to 4 registers
 * are checked against what the scoreboard expects. `fixed` keeps the last value per register;
 * `leaky` keeps a record of every transaction (the leak knob), allocated in `record_write`.
 * Usage: scoreboard fixed|leaky TRANSACTIONS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record { unsigned reg, value; struct record *next; };

static struct record *history;          /* leaky: every transaction */
static unsigned *last;                  /* fixed: the last value per register */

static void record_write(unsigned reg, unsigned value) {
  struct record *r = malloc(sizeof *r);
  r->reg = reg; r->value = value; r->next = history; history = r;
}

static char *format_transaction(unsigned reg, unsigned value) {
  char *s = malloc(64);                 /* scratch, freed by the caller: no growth */
  snprintf(s, 64, "write r%u <- %08x", reg, value);
  return s;
}

int main(int argc, char **argv) {
  int leaky = argc > 1 && strcmp(argv[1], "leaky") == 0;
  long n = argc > 2 ? atol(argv[2]) : 20000;
  unsigned seed = 7, mismatches = 0;
  last = calloc(4, sizeof *last);
  for (long i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    unsigned reg = (seed >> 16) & 3, value = seed ^ (unsigned)i;
    char *line = format_transaction(reg, value);
    if (leaky) record_write(reg, value);
    last[reg] = value;
    if (last[reg] != value) mismatches++;
    free(line);
  }
  printf("%ld transactions, %u mismatches\n", n, mismatches);
  return mismatches != 0;
}
