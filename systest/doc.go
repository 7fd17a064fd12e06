// Package systest holds the tests that run the library against other
// processes: its properties under faults, load and other users, and its
// interop with the C, Qt 5.15, Qt 6.4, PySide6 and Python peers (TESTS.md
// maps each file to what it proves). They reach the library through its
// public API only, as a user's program does; the root package's own tests
// are its unit tests. The programs they run are built once per test binary
// (internal/harness).
package systest
