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

// ImageFormat is a QImage::Format, numbered as Qt numbers them: those
// that a QImage streamed as a PNG file comes back as.
type ImageFormat int

// The formats. Qt writes a QImage as a PNG file and reads it back in the
// format of the PNG: RGB32 (RGB), ARGB32 (RGBA, or any with a tRNS
// chunk), Grayscale8 and Grayscale16 (grey), Indexed8 or Mono
// (palette), RGBX64 and RGBA64 (16-bit RGB and RGBA). A premultiplied
// format is written with straight alpha, and so comes back unpremultiplied.
const (
	FormatInvalid      ImageFormat = 0
	FormatMono         ImageFormat = 1
	FormatIndexed8     ImageFormat = 3
	FormatRGB32        ImageFormat = 4
	FormatARGB32       ImageFormat = 5
	FormatARGB32Premul ImageFormat = 6
	FormatGrayscale8   ImageFormat = 24
	FormatRGBX64       ImageFormat = 25
	FormatRGBA64       ImageFormat = 26
	FormatGrayscale16  ImageFormat = 28
)

// FormatImage is an image with the QImage format Writer.Image is to give
// it, where the caller chooses rather than ImageFormatOf.
type FormatImage struct {
	image.Image
	Format ImageFormat
}

// ImageFormatOf returns the format Writer.Image gives img: the QImage
// format that corresponds to its Go type, as Qt would have it. An image
// read by Reader.Image has the Go type of its format, so that writing it
// back gives Qt the format it wrote: *image.NRGBA is ARGB32 whatever its
// pixels, *image.RGBA RGB32 if opaque and else ARGB32_Premultiplied,
// *image.NRGBA64 RGBA64, *image.RGBA64 RGBX64 if opaque and else
// RGBA64, *image.Gray and *image.Gray16 Grayscale8 and 16,
// *image.Paletted Indexed8 (Mono with at most two colours), and any
// other type RGB32 if opaque and else ARGB32.
func ImageFormatOf(img image.Image) ImageFormat {
	opaque := func() bool {
		o, ok := img.(interface{ Opaque() bool })
		return ok && o.Opaque() || !ok && isOpaque(img)
	}
	switch m := img.(type) {
	case nil:
		return FormatInvalid
	case FormatImage:
		return m.Format
	case *FormatImage:
		return m.Format
	case *image.NRGBA:
		return FormatARGB32
	case *image.RGBA:
		if opaque() {
			return FormatRGB32
		}
		return FormatARGB32Premul
	case *image.NRGBA64:
		return FormatRGBA64
	case *image.RGBA64:
		if opaque() {
			return FormatRGBX64
		}
		return FormatRGBA64
	case *image.Gray:
		return FormatGrayscale8
	case *image.Gray16:
		return FormatGrayscale16
	case *image.Paletted:
		if len(m.Palette) <= 2 {
			return FormatMono
		}
		return FormatIndexed8
	}
	if opaque() {
		return FormatRGB32
	}
	return FormatARGB32
}

// isOpaque reports whether every pixel of img has full alpha.
func isOpaque(img image.Image) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}

// pngAs presents an image to image/png so that it writes the PNG colour
// type of a QImage format: image/png picks RGB or RGBA by Opaque and 8
// or 16 bits by the colour model.
type pngAs struct {
	image.Image
	model  color.Model
	opaque bool
}

func (p pngAs) ColorModel() color.Model { return p.model }
func (p pngAs) Opaque() bool            { return p.opaque }
func (p pngAs) At(x, y int) color.Color { return p.model.Convert(p.Image.At(x, y)) }

// dropAlpha is an image seen with its alpha set to full, as Qt converts
// to a format without alpha: premultiplied colours are kept.
type dropAlpha struct{ image.Image }

func (d dropAlpha) ColorModel() color.Model { return color.RGBA64Model }
func (d dropAlpha) Opaque() bool            { return true }
func (d dropAlpha) At(x, y int) color.Color {
	c := color.RGBA64Model.Convert(d.Image.At(x, y)).(color.RGBA64)
	c.A = 0xffff
	return c
}

// forPNG returns what to give image/png for img in format f.
func forPNG(img image.Image, f ImageFormat) (image.Image, error) {
	if fi, ok := img.(FormatImage); ok {
		img = fi.Image
	} else if fi, ok := img.(*FormatImage); ok {
		img = fi.Image
	}
	if rgba, ok := img.(*image.RGBA); ok && (f == FormatARGB32 || f == FormatARGB32Premul) {
		img = unpremultiply(rgba)
	}
	switch f {
	case FormatARGB32, FormatARGB32Premul:
		return pngAs{img, color.NRGBAModel, false}, nil
	case FormatRGB32:
		return pngAs{dropAlpha{img}, color.RGBAModel, true}, nil
	case FormatRGBA64:
		return pngAs{img, color.NRGBA64Model, false}, nil
	case FormatRGBX64:
		return pngAs{dropAlpha{img}, color.RGBA64Model, true}, nil
	case FormatGrayscale8:
		return pngAs{img, color.GrayModel, true}, nil
	case FormatGrayscale16:
		return pngAs{img, color.Gray16Model, true}, nil
	case FormatIndexed8, FormatMono:
		if p, ok := img.(*image.Paletted); ok {
			return p, nil
		}
		return nil, fmt.Errorf("%w: format %d needs an *image.Paletted", ErrInvalid, f)
	}
	return nil, fmt.Errorf("%w: QImage format %d", ErrUnsupported, f)
}

// Image writes img as a QImage, and so as a QPixmap, which Qt streams the
// same way: a qint32 1 and a PNG file, or for a nil or empty img (a null
// image) a qint32 0. The PNG is Go's (image/png), so its bytes differ
// from Qt's; its pixels do not, and its colour type is the one Qt gives
// the image's format (ImageFormatOf; a FormatImage says it), so that Qt
// reads back the format it wrote.
func (w *Writer) Image(img image.Image) {
	if img == nil || img.Bounds().Empty() {
		w.Int32(0)
		return
	}
	p, err := forPNG(img, ImageFormatOf(img))
	if err != nil {
		w.fail(err)
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, p); err != nil {
		w.fail(fmt.Errorf("%w: PNG: %v", ErrInvalid, err))
		return
	}
	w.Int32(1)
	w.Raw(b.Bytes())
}

// Image reads a QImage or QPixmap: nil for a null image, else the PNG's
// image as image/png decodes it, whose Go type tells the QImage format
// (see ImageFormatOf): an *image.NRGBA for an RGBA PNG (ARGB32, and
// premultiplied ones, which Qt writes unpremultiplied), an *image.RGBA
// for an RGB one (RGB32), and so on. The PNG is read chunk by chunk to
// its end, as Qt does; the file and its decoded pixels count against the
// limit (WithLimit).
func (r *Reader) Image() image.Image {
	r.enter("QImage")
	defer r.leave()
	if r.Int32() == 0 || r.err != nil {
		return nil
	}
	data, trns := r.pngFile()
	if r.err != nil {
		return nil
	}
	if !r.charge(decodedSize(data, trns)) {
		return nil
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		r.corrupt("PNG: %v", err)
		return nil
	}
	return img
}

// decodedSize is what image/png allocates to decode a PNG file whose
// header is valid: the pixels in the Go type it decodes to, twice for an
// interlaced file (each pass is decoded apart), two rows of the file's
// own layout, and the inflater's window and buffers.
func decodedSize(png []byte, trns bool) int64 {
	w, h := int64(binary.BigEndian.Uint32(png[16:])), int64(binary.BigEndian.Uint32(png[20:]))
	depth, ctype, interlaced := int64(png[24]), png[25], png[28] == 1
	wide := depth == 16
	var px int64
	switch {
	case ctype == 3: // palette
		px = 1
	case ctype == 0 && !trns:
		px = depth / 8
		if px == 0 {
			px = 1
		}
	case wide:
		px = 8
	default:
		px = 4
	}
	n := w * h * px
	if interlaced {
		n *= 2
	}
	channels := map[byte]int64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
	return n + 2*(w*channels*depth/8+1) + 64<<10
}

// pngFile reads a PNG file from the stream: the signature, then chunks
// up to and including IEND. It checks the header that decodedSize reads,
// and says whether the file has a tRNS chunk (which makes image/png
// decode grey and RGB with an alpha channel).
func (r *Reader) pngFile() (file []byte, trns bool) {
	var b bytes.Buffer
	sig := r.chunked(int64(len(pngSignature)), "PNG signature")
	if r.err != nil {
		return nil, false
	}
	if !bytes.Equal(sig, pngSignature) {
		r.corrupt("not a PNG file")
		return nil, false
	}
	b.Write(sig)
	var head [8]byte
	for {
		if !r.full(head[:], "PNG chunk", 4) {
			return nil, false
		}
		n := int64(binary.BigEndian.Uint32(head[:4]))
		typ := string(head[4:])
		if n > 1<<31-1 {
			r.corrupt("PNG chunk length %d", n)
			return nil, false
		}
		if b.Len() == len(pngSignature) && (typ != "IHDR" || n != 13) {
			r.corrupt("PNG file without a header")
			return nil, false
		}
		// The buffer's growth may copy what it holds once more.
		if !r.charge(2 * (8 + n + 4)) {
			return nil, false
		}
		b.Write(head[:])
		b.Write(r.chunked(n+4, "PNG chunk")) // data and CRC
		if r.err != nil {
			return nil, false
		}
		trns = trns || typ == "tRNS"
		if typ == "IEND" {
			return b.Bytes(), trns
		}
	}
}

// unpremultiply converts premultiplied colours to straight ones, rounding
// to nearest as Qt's qUnpremultiply does (image/color rounds down).
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
