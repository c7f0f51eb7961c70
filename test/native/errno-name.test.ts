// native/errno_name.h stands in for strerrorname_np (glibc 2.32+, too new for the
// prebuilds): compiled against this machine's glibc, it must name every errno the same.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '../..')
const dir = mkdtempSync(path.join(tmpdir(), 'sandproc-errno-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('names errnos 1..4095 as strerrorname_np does', () => {
  writeFileSync(
    path.join(dir, 'names.cc'),
    `#include "errno_name.h"
     #include <cstdio>
     #include <cstring>
     int main() {
       int known = 0;
       for (int e = 1; e < 4096; e++) {
         const char* want = strerrorname_np(e);
         if (want) known++;
         const char* got = sandproc::ErrnoName(e);
         if (std::strcmp(got, want ? want : "EUNKNOWN") != 0) std::printf("%d %s %s\\n", e, got, want);
       }
       std::printf("known %d\\n", known);
     }`,
  )
  const exe = path.join(dir, 'names')
  execFileSync('g++', [
    '-std=c++17',
    '-D_GNU_SOURCE',
    '-I',
    path.join(root, 'native'),
    '-o',
    exe,
    path.join(dir, 'names.cc'),
  ])
  const out = execFileSync(exe, { encoding: 'utf8' }).trim().split('\n')
  // Only the count line: no errno named differently. glibc 2.36 names 133 of them.
  expect(out).toHaveLength(1)
  expect(Number(/^known (\d+)$/.exec(out[0])![1])).toBeGreaterThan(130)
})
