//go:build unix

package qipc

import (
	"os"
	"strconv"

	"github.com/qipc-go/qipc/internal/qtnames"
)

// foreignOwner reports whether the uid id is another user's, and names
// that user. Root is no exception: the kernel lets it use anyone's
// objects, which makes a privileged process the most valuable victim of
// a squatted key.
func foreignOwner(id string) (who string, foreign bool) {
	if id == strconv.Itoa(os.Geteuid()) {
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
