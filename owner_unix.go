//go:build unix

package qipc

import (
	"os"
	"strconv"

	"github.com/qipc-go/qipc/internal/qtnames"
)

// foreignOwner reports whether the uid id is another user's, and names
// that user. Root may use anyone's objects, as the kernel lets it.
func foreignOwner(id string) (who string, foreign bool) {
	euid := os.Geteuid()
	if euid == 0 || id == strconv.Itoa(euid) {
		return "", false
	}
	uid, _ := strconv.Atoi(id)
	who = qtnames.UserName(uid)
	if who == "" {
		who = "another user"
	}
	return who + " (uid " + id + ")", true
}

func uidOwner(what string, uid int) owner { return owner{what, strconv.Itoa(uid)} }
