/*
 * The smallest program that can be exec'd: static, no libc, no dynamic loader, and
 * `_start` exits at once. Spawning it measures the spawn path itself; /bin/true adds
 * ld.so and libc start-up (about a third of a millisecond) to every sample.
 *
 * build: cc -static -nostdlib -O2 -o noop noop.c
 */
void _start(void) {
#if defined(__x86_64__)
  __asm__ volatile("mov $231, %eax\n\t" /* exit_group */
                   "xor %edi, %edi\n\t"
                   "syscall");
#elif defined(__aarch64__)
  __asm__ volatile("mov x0, #0\n\t"
                   "mov x8, #94\n\t" /* exit_group */
                   "svc #0");
#else
#error "noop.c: add the exit_group syscall for this architecture"
#endif
  for (;;) {
  }
}
