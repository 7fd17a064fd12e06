package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Object is one row of `qipc ls`: an IPC object or a lone key file. The
// JSON field names are part of the tool's interface (see `qipc ls --help`).
type Object struct {
	Kind       string    `json:"kind"`
	Key        string    `json:"key"`
	Native     string    `json:"native"`
	Path       string    `json:"path"`
	ID         *int      `json:"id,omitempty"`
	Ftok       string    `json:"ftok,omitempty"`
	ProjectID  int       `json:"project_id,omitempty"`
	Owner      string    `json:"owner"`
	UID        int       `json:"uid"`
	Mode       string    `json:"mode"`
	Size       int64     `json:"size"`
	Nattch     *int      `json:"nattch,omitempty"`
	Pids       []int     `json:"pids,omitempty"`
	Cpid       int       `json:"cpid,omitempty"`
	Lpid       int       `json:"lpid,omitempty"`
	Value      *int      `json:"value,omitempty"`
	Waiters    *int      `json:"waiters,omitempty"`
	Holder     int       `json:"holder,omitempty"`
	HolderName string    `json:"holder_name,omitempty"`
	HolderWhy  string    `json:"holder_why,omitempty"`
	Changed    time.Time `json:"changed"`
	Lock       string    `json:"lock,omitempty"`
	Stale      bool      `json:"stale"`
	Reasons    []string  `json:"reasons"`
	Unverified bool      `json:"unverified,omitempty"`
	// Qt says whether the object is proven to be Qt's: qtSegment,
	// qtLock, or qtUnknown, which clean leaves alone.
	Qt string `json:"qt"`

	lpidAlive bool
	// unsure says why the STALE mark could not be verified (Unverified).
	unsure    string
	scanState // what the platform's scan keeps for clean
}

// What an object is proven to be (Object.Qt).
const (
	qtSegment = "segment" // a Qt segment or its key file
	qtLock    = "lock"    // a Qt semaphore (a segment's lock or a QSystemSemaphore) or its key file
	qtUnknown = "unknown" // nothing proves it Qt's
)

// Kinds.
const (
	kindSysvShm  = "sysv-shm"
	kindSysvSem  = "sysv-sem"
	kindPosixShm = "posix-shm"
	kindPosixSem = "posix-sem"
	kindKeyFile  = "keyfile"
)

func (o *Object) label() string {
	switch o.Kind {
	case kindSysvShm:
		return fmt.Sprintf("System V segment %d (key %s, %s)", *o.ID, o.Ftok, orNone(o.Path))
	case kindSysvSem:
		return fmt.Sprintf("System V semaphore %d (key %s, %s)", *o.ID, o.Ftok, orNone(o.Path))
	case kindPosixShm:
		return "POSIX segment " + o.Path
	case kindPosixSem:
		return "POSIX semaphore " + o.Path
	}
	return "key file " + o.Path
}

func orNone(p string) string {
	if p == "" {
		return "no key file"
	}
	return p
}

// inUse says why removing the object could hurt a live process, or "".
// named is set when the user selected this very object (clean --id
// sysv-sem:N): a System V set that no key file in sight names can be named
// no other way, so its Unverified mark is then the user's to overrule,
// for a free lock only (count 1: a counting semaphore below its start may
// have a holder alive, which System V does not show).
func (o *Object) inUse(named bool) string {
	switch {
	case o.Nattch != nil && *o.Nattch > 0:
		if len(o.Pids) > 0 {
			return fmt.Sprintf("%d process(es) attached (pids %s)", *o.Nattch, joinInts(o.Pids))
		}
		return fmt.Sprintf("%d process(es) attached", *o.Nattch)
	case o.Kind == kindSysvSem && o.lpidAlive:
		return fmt.Sprintf("last used by live process %d", o.Lpid)
	case o.Waiters != nil && *o.Waiters > 0:
		return fmt.Sprintf("%d process(es) waiting on it", *o.Waiters)
	case o.Unverified && !(named && o.Kind == kindSysvSem && o.Lpid != 0 && o.Value != nil && *o.Value == 1):
		return o.unsure
	}
	return ""
}

func writeJSON(w io.Writer, objs []*Object) error {
	for _, o := range objs {
		if o.Reasons == nil {
			o.Reasons = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(objs)
}

func printTable(w io.Writer, objs []*Object) {
	if len(objs) == 0 {
		fmt.Fprintln(w, "no Qt IPC objects found")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "KIND\tQT\tID\tOWNER\tMODE\tSIZE\tNATTCH\tCPID\tLPID\tCHANGED\tSTATUS\tKEY")
	for _, o := range objs {
		id, nat, cpid, lpid := "-", "-", "-", "-"
		if o.ID != nil {
			id = strconv.Itoa(*o.ID)
		}
		if o.Nattch != nil {
			nat = strconv.Itoa(*o.Nattch)
		}
		if o.Cpid != 0 {
			cpid = strconv.Itoa(o.Cpid)
		}
		if o.Lpid != 0 {
			lpid = strconv.Itoa(o.Lpid)
		}
		status := "ok"
		switch {
		case o.Stale && o.Unverified:
			status = "STALE?"
		case o.Stale:
			status = "STALE"
		}
		qt := "unknown"
		if o.Qt == qtSegment || o.Qt == qtLock {
			qt = "Qt " + o.Qt
		}
		key := o.Key
		if key == "" {
			key = o.Path
		}
		changed := "-"
		if !o.Changed.IsZero() {
			changed = o.Changed.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
			o.Kind, qt, id, o.Owner, o.Mode, o.Size, nat, cpid, lpid, changed, status, key)
	}
	tw.Flush()
	any := false
	for _, o := range objs {
		if o.Stale {
			if !any {
				fmt.Fprintln(w, "\nstale:")
				any = true
			}
			fmt.Fprintf(w, "  %s: %s\n", o.label(), strings.Join(o.Reasons, "; "))
		}
	}
}

// describe prints one object for `qipc info`.
func (o *Object) describe(w io.Writer) {
	p := func(k, v string) { fmt.Fprintf(w, "%-11s %s\n", k+":", v) }
	p("object", o.label())
	if o.Key != "" {
		p("key", o.Key)
	}
	if o.Ftok != "" {
		p("ftok", fmt.Sprintf("%s (project id 0x%02x)", o.Ftok, o.ProjectID))
	}
	p("owner", fmt.Sprintf("%s (uid %d), mode %s", o.Owner, o.UID, o.Mode))
	switch o.Kind {
	case kindSysvShm, kindPosixShm:
		p("size", fmt.Sprintf("%d bytes", o.Size))
	case kindSysvSem:
		p("nsems", strconv.FormatInt(o.Size, 10))
	}
	if o.Nattch != nil {
		s := strconv.Itoa(*o.Nattch)
		if len(o.Pids) > 0 {
			s += " (pids " + joinInts(o.Pids) + ")"
		}
		p("attached", s)
	}
	if o.Cpid != 0 {
		p("creator", fmt.Sprintf("pid %d%s", o.Cpid, aliveNote(o.Cpid)))
	}
	if o.Lpid != 0 {
		p("last pid", fmt.Sprintf("%d%s", o.Lpid, aliveNote(o.Lpid)))
	}
	if o.Value != nil {
		p("value", strconv.Itoa(*o.Value))
	}
	if o.Waiters != nil {
		p("waiters", strconv.Itoa(*o.Waiters))
	}
	switch {
	case o.Holder != 0 && o.HolderName != "":
		p("holder", fmt.Sprintf("pid %d (%s), probably: %s", o.Holder, o.HolderName, o.HolderWhy))
	case o.Holder != 0:
		p("holder", fmt.Sprintf("pid %d, probably: %s", o.Holder, o.HolderWhy))
	case o.HolderWhy != "":
		p("holder", "unknown: "+o.HolderWhy)
	}
	if o.Lock != "" {
		p("lock", o.Lock)
	}
	if !o.Changed.IsZero() {
		p("changed", o.Changed.Local().Format(time.RFC3339))
	}
	if o.Stale {
		p("status", "STALE: "+strings.Join(o.Reasons, "; "))
	} else {
		p("status", "ok")
	}
}

func aliveNote(pid int) string {
	if processAlive(pid) {
		return " (running)"
	}
	return " (gone)"
}
