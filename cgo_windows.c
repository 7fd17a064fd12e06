//go:build cgo

// Thin shims over the Win32 calls Qt makes for QSharedMemory and
// QSystemSemaphore on Windows (Qt 6.6+ qsharedmemory_win.cpp /
// qsystemsemaphore_win.cpp): one function per call sequence, returning 0 or
// the GetLastError() code, with the same flags and access rights. Policy
// (ownership, error wording, key names) lives in Go. Called from
// cgo_windows.go.

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdint.h>
#include <string.h>

#include "cgo_windows.h"

// A failing call that left no error code still has to report a failure.
static int last_error(void) {
	DWORD e = GetLastError();
	return e != 0 ? (int)e : (int)ERROR_GEN_FAILURE;
}

// CreateFileMappingW as Qt calls it: pagefile-backed, default security,
// PAGE_READWRITE, the 64-bit size split into two DWORDs. An existing mapping
// is reported as ERROR_ALREADY_EXISTS and the handle the call still returns
// is closed (Qt keeps it until clean-up; nothing uses it).
int qipc_win_shm_create(const uint16_t *name, uint64_t size, uintptr_t *h_out) {
	SetLastError(0);
	HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)(size >> 32),
	                              (DWORD)(size & 0xffffffffu), (LPCWSTR)name);
	DWORD e = GetLastError();
	if (h == NULL)
		return last_error();
	if (e == ERROR_ALREADY_EXISTS) {
		CloseHandle(h);
		return (int)ERROR_ALREADY_EXISTS;
	}
	*h_out = (uintptr_t)h;
	return 0;
}

// OpenFileMappingW with full access, even for a read-only attach, as Qt does.
int qipc_win_shm_open(const uint16_t *name, uintptr_t *h_out) {
	HANDLE h = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, (LPCWSTR)name);
	if (h == NULL)
		return last_error();
	*h_out = (uintptr_t)h;
	return 0;
}

// MapViewOfFile of the whole mapping, then VirtualQuery for its size (whole
// pages). A view whose size cannot be queried is unmapped again.
int qipc_win_shm_map(uintptr_t h, int readonly, void **addr_out, uint64_t *size_out, int *step) {
	*step = QIPC_WIN_STEP_MAP;
	void *addr = MapViewOfFile((HANDLE)h, readonly ? FILE_MAP_READ : FILE_MAP_ALL_ACCESS, 0, 0, 0);
	if (addr == NULL)
		return last_error();
	*step = QIPC_WIN_STEP_QUERY;
	MEMORY_BASIC_INFORMATION info;
	if (VirtualQuery(addr, &info, sizeof info) == 0) {
		int rc = last_error();
		UnmapViewOfFile(addr);
		return rc;
	}
	*addr_out = addr;
	*size_out = (uint64_t)info.RegionSize;
	return 0;
}

int qipc_win_shm_unmap(void *addr) { return UnmapViewOfFile(addr) ? 0 : last_error(); }

int qipc_win_close(uintptr_t h) { return CloseHandle((HANDLE)h) ? 0 : last_error(); }

// CreateSemaphoreW(NULL, initial, MAXLONG, name): opens the semaphore or
// creates it with the initial count; existed reports which.
int qipc_win_sem_open(const uint16_t *name, int64_t initial, uintptr_t *h_out, int *existed) {
	if (initial < 0 || initial > MAXLONG)
		return (int)ERROR_INVALID_PARAMETER;
	SetLastError(0);
	HANDLE h = CreateSemaphoreW(NULL, (LONG)initial, MAXLONG, (LPCWSTR)name);
	DWORD e = GetLastError();
	if (h == NULL)
		return last_error();
	*existed = e == ERROR_ALREADY_EXISTS;
	*h_out = (uintptr_t)h;
	return 0;
}

// OpenSemaphoreW: the existing semaphore only, for an observer.
int qipc_win_sem_open_existing(const uint16_t *name, uintptr_t *h_out) {
	HANDLE h = OpenSemaphoreW(SEMAPHORE_ALL_ACCESS, FALSE, (LPCWSTR)name);
	if (h == NULL)
		return last_error();
	*h_out = (uintptr_t)h;
	return 0;
}

// WaitForSingleObjectEx on the semaphore, or WaitForMultipleObjectsEx on
// the semaphore and the event wake (not 0), not alertable. timeout_ms < 0
// waits without limit, 0 only tries. acquired is 0 on a timeout and when
// the event ended the wait; with both signalled the semaphore comes first.
int qipc_win_sem_wait(uintptr_t h, uintptr_t wake, int64_t timeout_ms, int *acquired) {
	DWORD ms = INFINITE;
	if (timeout_ms >= 0)
		ms = timeout_ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)timeout_ms;
	*acquired = 0;
	HANDLE both[2] = {(HANDLE)h, (HANDLE)wake};
	DWORD r = wake ? WaitForMultipleObjectsEx(2, both, FALSE, ms, FALSE) : WaitForSingleObjectEx((HANDLE)h, ms, FALSE);
	switch (r) {
	case WAIT_OBJECT_0:
		*acquired = 1;
		return 0;
	case WAIT_OBJECT_0 + 1:
	case WAIT_TIMEOUT:
		return 0;
	case WAIT_FAILED:
		return last_error();
	default: // WAIT_ABANDONED / WAIT_IO_COMPLETION: not for a semaphore
		return (int)ERROR_GEN_FAILURE;
	}
}

// CreateEventW(NULL, auto-reset, not signalled, no name): the event that
// ends one wait of qipc_win_sem_wait from another thread (SetEvent).
int qipc_win_event_new(uintptr_t *h_out) {
	HANDLE h = CreateEventW(NULL, FALSE, FALSE, NULL);
	if (h == NULL)
		return last_error();
	*h_out = (uintptr_t)h;
	return 0;
}

int qipc_win_event_set(uintptr_t h) { return SetEvent((HANDLE)h) ? 0 : last_error(); }

// ReleaseSemaphore adds n in one operation; it fails without changing the
// count when that would pass MAXLONG (ERROR_TOO_MANY_POSTS).
int qipc_win_sem_post(uintptr_t h, int64_t n) {
	if (n <= 0 || n > MAXLONG)
		return (int)ERROR_INVALID_PARAMETER;
	return ReleaseSemaphore((HANDLE)h, (LONG)n, NULL) ? 0 : last_error();
}

// Win32 has no call that reads a semaphore's count; ntdll's
// NtQuerySemaphore(SemaphoreBasicInformation) does, when it is there.
typedef struct {
	LONG CurrentCount;
	LONG MaximumCount;
} qipc_semaphore_basic_information;
typedef LONG(NTAPI *qipc_nt_query_semaphore)(HANDLE, int, PVOID, ULONG, PULONG);
typedef ULONG(NTAPI *qipc_rtl_status_to_dos)(LONG);

int qipc_win_sem_value(uintptr_t h, int32_t *value) {
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	if (ntdll == NULL)
		return (int)ERROR_PROC_NOT_FOUND;
	qipc_nt_query_semaphore query =
	    (qipc_nt_query_semaphore)(void (*)(void))GetProcAddress(ntdll, "NtQuerySemaphore");
	qipc_rtl_status_to_dos to_dos =
	    (qipc_rtl_status_to_dos)(void (*)(void))GetProcAddress(ntdll, "RtlNtStatusToDosError");
	if (query == NULL)
		return (int)ERROR_PROC_NOT_FOUND;
	qipc_semaphore_basic_information info;
	ULONG len = 0;
	LONG status = query((HANDLE)h, 0 /* SemaphoreBasicInformation */, &info, sizeof info, &len);
	if (status < 0) {
		ULONG e = to_dos != NULL ? to_dos(status) : ERROR_GEN_FAILURE;
		return e != 0 ? (int)e : (int)ERROR_GEN_FAILURE;
	}
	*value = (int32_t)info.CurrentCount;
	return 0;
}

// The owner SID of a mapping or semaphore, in its string form ("S-1-5-…"),
// or "" when the descriptor names none (Wine gives objects made with
// default security no owner). Qt does not look; the Go side refuses objects
// another user owns.
int qipc_win_owner(uintptr_t h, char *sid, int n) {
	PSID owner = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;
	DWORD rc = GetSecurityInfo((HANDLE)h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL, &sd);
	if (rc != ERROR_SUCCESS)
		return (int)rc;
	char *str = NULL;
	int ret = 0;
	if (owner == NULL)
		sid[0] = 0;
	else if (!ConvertSidToStringSidA(owner, &str))
		ret = last_error();
	else if ((int)strlen(str) >= n)
		ret = (int)ERROR_INSUFFICIENT_BUFFER;
	else
		strcpy(sid, str);
	LocalFree(str);
	LocalFree(sd);
	return ret;
}
