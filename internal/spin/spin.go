// Package spin has the CPU's spin-wait hint, for the short spin a
// semaphore wait makes before it sleeps in the kernel.
package spin
