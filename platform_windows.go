//go:build windows

package qipc

// What differs on Windows, beside its backend (cgo_windows.go) and the
// error mapping (errors_windows.go): who owns an object, and the default
// key type.

import "golang.org/x/sys/windows"

// defaultKeyType is what DefaultKeyType() returns here.
const defaultKeyType = Windows

// foreignOwner reports whether the SID id is neither this process's user
// nor a group its token holds (an elevated process's objects are owned by
// BUILTIN\Administrators), and names its account.
func foreignOwner(id string) (who string, foreign bool) {
	sid, err := windows.StringToSid(id)
	if err != nil {
		return id, true // not a SID: a descriptor that could not be read
	}
	tok := windows.GetCurrentProcessToken()
	if u, err := tok.GetTokenUser(); err == nil && windows.EqualSid(u.User.Sid, sid) {
		return "", false
	}
	if member, err := windows.Token(0).IsMember(sid); err == nil && member {
		return "", false
	}
	if account, domain, _, err := sid.LookupAccount(""); err == nil {
		return domain + `\` + account + " (" + id + ")", true
	}
	return id, true
}
