//go:build linux

package qipc_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"os"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/qdatastream"
)

// Qt's Shared Memory Example, both directions: its saver streams a QPixmap
// with QDataStream into QSharedMemory("Shared") under the lock, and its
// loader reads it back the same way. A Go saver and a Go loader here; a Qt
// saver or loader in their place reads and writes the same bytes
// (examples/sharedimage is the whole program, run against Qt 5, Qt 6.4
// and PySide6 by the tests).
func Example_qtImage() {
	name := fmt.Sprintf("Shared.%d", os.Getpid()) // the example's "Shared", made unique
	key := qipc.LegacySharedMemoryKey(name, qipc.LegacyDefaultKeyType())
	ctx := context.Background()

	// The saver: encode as QDataStream << QPixmap, then a segment of that size.
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.NRGBA{R: 255, A: 255})
	var buf bytes.Buffer
	out := qdatastream.NewWriter(&buf, qdatastream.Qt_5_15)
	out.Image(img)
	saver := qipc.NewSharedMemory(key)
	defer saver.Close() // the segment lives until the saver closes
	if err := saver.CreateContext(ctx, buf.Len(), qipc.ReadWrite); err != nil {
		fmt.Println(err)
		return
	}
	err := saver.Locked(ctx, func(data []byte) error { copy(data, buf.Bytes()); return nil })
	if err != nil {
		fmt.Println(err)
		return
	}

	// The loader: attach, decode under the lock.
	loader := qipc.NewSharedMemory(key)
	defer loader.Close()
	if err := loader.AttachContext(ctx, qipc.ReadOnly); err != nil {
		fmt.Println(err)
		return
	}
	var got image.Image
	err = loader.Locked(ctx, func(data []byte) error {
		in := qdatastream.NewReader(bytes.NewReader(data), qdatastream.Qt_5_15)
		got = in.Image()
		return in.Err()
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _, _, a := got.At(1, 1).RGBA()
	fmt.Println(got.Bounds().Dx(), "x", got.Bounds().Dy(), "red:", r>>8, "alpha:", a>>8)
	// Output: 2 x 2 red: 255 alpha: 255
}
