package qdatastream

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// Image writes img as a QImage, and so as a QPixmap, which Qt streams the
// same way: a qint32 1 and a PNG file, or for a nil or empty img (a null
// image) a qint32 0. The PNG is Go's (image/png), so its bytes differ
// from Qt's; its pixels do not. Go's encoder writes an image that is not
// Opaque with straight alpha (converting *image.RGBA's premultiplied
// colours), which Qt reads as Format_ARGB32, and an opaque one without
// alpha (Format_RGB32).
func (w *Writer) Image(img image.Image) {
	if img == nil || img.Bounds().Empty() {
		w.Int32(0)
		return
	}
	if rgba, ok := img.(*image.RGBA); ok {
		img = unpremultiply(rgba)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		w.fail(fmt.Errorf("%w: PNG: %v", ErrInvalid, err))
		return
	}
	w.Int32(1)
	w.Raw(b.Bytes())
}

// Image reads a QImage or QPixmap: nil for a null image, else the PNG's
// image as image/png decodes it, such as an *image.NRGBA (straight
// alpha: Qt converts a premultiplied image when it writes the PNG) or
// an *image.RGBA for a PNG without alpha. The PNG is read chunk by chunk
// to its end, as Qt does, and neither the file nor its decoded pixels
// may exceed the limit (WithLimit).
func (r *Reader) Image() image.Image {
	if r.Int32() == 0 || r.err != nil {
		return nil
	}
	data := r.pngFile()
	if r.err != nil {
		return nil
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		r.corrupt("PNG: %v", err)
		return nil
	}
	if px := int64(cfg.Width) * int64(cfg.Height) * bytesPerPixel(cfg.ColorModel); px > r.cfg.limit {
		r.fail(fmt.Errorf("%w: %dx%d image (limit %d bytes)", ErrTooLarge, cfg.Width, cfg.Height, r.cfg.limit))
		return nil
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		r.corrupt("PNG: %v", err)
		return nil
	}
	return img
}

func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// pngFile reads a PNG file from the stream: the signature, then chunks
// up to and including IEND.
func (r *Reader) pngFile() []byte {
	var b bytes.Buffer
	sig := r.chunked(int64(len(pngSignature)))
	if r.err != nil {
		return nil
	}
	if !bytes.Equal(sig, pngSignature) {
		r.corrupt("not a PNG file")
		return nil
	}
	b.Write(sig)
	var head [8]byte
	for {
		if !r.full(head[:]) {
			return nil
		}
		n := int64(binary.BigEndian.Uint32(head[:4]))
		if n > 1<<31-1 {
			r.corrupt("PNG chunk length %d", n)
			return nil
		}
		if int64(b.Len())+8+n+4 > r.cfg.limit {
			r.fail(fmt.Errorf("%w: PNG file beyond %d bytes", ErrTooLarge, r.cfg.limit))
			return nil
		}
		b.Write(head[:])
		b.Write(r.chunked(n + 4)) // data and CRC
		if r.err != nil {
			return nil
		}
		if string(head[4:]) == "IEND" {
			return b.Bytes()
		}
	}
}

// unpremultiply converts premultiplied colours to straight ones, rounding
// to nearest as Qt's qUnpremultiply does.
func unpremultiply(m *image.RGBA) *image.NRGBA {
	b := m.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := m.RGBAAt(x, y)
			n := color.NRGBA{A: c.A}
			if a := uint32(c.A); a == 0xff {
				n.R, n.G, n.B = c.R, c.G, c.B
			} else if a != 0 {
				div := func(v uint8) uint8 { return uint8(min((uint32(v)*0xff+a/2)/a, 0xff)) }
				n.R, n.G, n.B = div(c.R), div(c.G), div(c.B)
			}
			out.SetNRGBA(x, y, n)
		}
	}
	return out
}
