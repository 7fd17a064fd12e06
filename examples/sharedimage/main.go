// Command sharedimage is the program Qt's shared-memory tutorials teach,
// in Go: one process puts an image into shared memory the way a Qt
// application does, another takes it out, and either side may be the Qt
// program itself.
//
//	sharedimage save IMAGE     put IMAGE (PNG, JPEG or GIF) into the segment, then keep it there until Ctrl-C
//	sharedimage load OUT.png   take the image out of the segment and write it as a PNG file
//
// The Qt side of it (Qt 5 and Qt 6 alike) is
//
//	QSharedMemory sharedMemory("Shared");
//	// save: QBuffer buffer; QDataStream out(&buffer); buffer.open(QBuffer::ReadWrite); out << pixmap;
//	//       sharedMemory.create(buffer.size()); lock(); memcpy; unlock();
//	// load: sharedMemory.attach(); lock(); QDataStream in(&buffer) >> pixmap; unlock(); detach();
//
// so the segment is named as QSharedMemory("Shared") names it
// (LegacySharedMemoryKey; -name changes the name) and holds what
// `out << pixmap` writes (package qdatastream: a qint32 1 and a PNG file).
//
// It is also the model of a well-behaved process: Ctrl-C and SIGTERM end
// it through its context, so its deferred Close removes the segment; a
// segment left by a saver that was killed is replaced (WithReplaceStale),
// and one that a live saver holds is left alone, naming that saver.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	"image/png"
	"os"
	"os/signal"
	"syscall"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/qdatastream"
)

func main() {
	name := flag.String("name", "Shared", "the name the Qt program gives QSharedMemory")
	typ := flag.String("type", "", "systemv or posix (default: what Qt 5 uses here, "+qipc.LegacyDefaultKeyType().String()+")")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: sharedimage [-name NAME] [-type systemv|posix] save IMAGE | load OUT.png\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || flag.Arg(0) != "save" && flag.Arg(0) != "load" {
		flag.Usage()
		os.Exit(2)
	}
	t := qipc.LegacyDefaultKeyType()
	switch *typ {
	case "":
	case "systemv":
		t = qipc.SystemV
	case "posix":
		t = qipc.PosixRealtime
	default:
		flag.Usage()
		os.Exit(2)
	}
	key := qipc.LegacySharedMemoryKey(*name, t)

	// Ctrl-C and SIGTERM end ctx instead of the process, so that the
	// deferred Close runs and nothing is left behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if flag.Arg(0) == "save" {
		err = save(ctx, key, flag.Arg(1))
	} else {
		err = load(ctx, key, flag.Arg(1))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sharedimage:", err)
		stop()
		os.Exit(1)
	}
}

// save is the tutorial's Save button, then the window left open.
func save(ctx context.Context, key qipc.Key, file string) error {
	img, err := readImage(file)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	out := qdatastream.NewWriter(&buf, qdatastream.Qt_5_15)
	out.Image(img)
	if err := out.Err(); err != nil {
		return err
	}

	shm := qipc.NewSharedMemory(key, qipc.WithReplaceStale())
	defer shm.Close()
	if err := shm.CreateContext(ctx, buf.Len(), qipc.ReadWrite); err != nil {
		if u, ierr := qipc.Inspect(key); errors.Is(err, qipc.ErrAlreadyExists) && ierr == nil && u.Exists {
			return fmt.Errorf("another saver holds the image (%s): %w", u.Reason, err)
		}
		return err
	}
	err = shm.Locked(ctx, func(data []byte) error {
		copy(data, buf.Bytes())
		return nil
	})
	if err != nil {
		return err
	}
	b := img.Bounds()
	fmt.Printf("saved %dx%d image (%d bytes) as QSharedMemory(%q); Ctrl-C ends\n", b.Dx(), b.Dy(), buf.Len(), key.LegacyKey)
	<-ctx.Done()
	return nil
}

// load is the tutorial's Load button.
func load(ctx context.Context, key qipc.Key, file string) error {
	shm := qipc.NewSharedMemory(key)
	defer shm.Close()
	if err := shm.AttachContext(ctx, qipc.ReadOnly); err != nil {
		return err
	}
	var img image.Image
	err := shm.Locked(ctx, func(data []byte) error {
		in := qdatastream.NewReader(bytes.NewReader(data), qdatastream.Qt_5_15)
		img = in.Image()
		return in.Err()
	})
	if err != nil {
		return err
	}
	if err := shm.DetachContext(ctx); err != nil {
		return err
	}
	if img == nil {
		return errors.New("the segment holds a null image")
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b := img.Bounds()
	fmt.Printf("loaded %dx%d image from QSharedMemory(%q) into %s\n", b.Dx(), b.Dy(), key.LegacyKey, file)
	return nil
}

func readImage(file string) (image.Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return img, nil
}
