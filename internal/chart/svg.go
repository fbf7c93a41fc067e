package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// canvas accumulates SVG markup. Every number it writes is finite and every
// piece of text is escaped.
type canvas struct {
	bytes.Buffer
}

// f formats a coordinate: one decimal, never NaN or Inf.
func f(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

func (c *canvas) printf(format string, args ...any) {
	fmt.Fprintf(c, format, args...)
}

// text writes a <text> element; attrs are trusted constant attributes.
func (c *canvas) text(x, y float64, attrs, s string) {
	c.printf(`<text x="%s" y="%s"%s>`, f(x), f(y), attrs)
	c.escape(s)
	c.WriteString("</text>\n")
}

func (c *canvas) line(x1, y1, x2, y2 float64, attrs string) {
	c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s"%s/>`+"\n", f(x1), f(y1), f(x2), f(y2), attrs)
}

func (c *canvas) rect(x, y, w, h float64, attrs string) {
	c.printf(`<rect x="%s" y="%s" width="%s" height="%s"%s/>`+"\n", f(x), f(y), f(math.Max(0, w)), f(math.Max(0, h)), attrs)
}

func (c *canvas) circle(x, y, r float64, attrs string) {
	c.printf(`<circle cx="%s" cy="%s" r="%s"%s/>`+"\n", f(x), f(y), f(r), attrs)
}

// escape writes s as XML character data; characters XML cannot carry become
// U+FFFD.
func (c *canvas) escape(s string) {
	_ = xml.EscapeText(c, []byte(s)) // writing to a bytes.Buffer does not fail
}

// clip shortens s to at most n runes, marking the cut with an ellipsis, so
// that a long identifier cannot push the layout apart.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// textWidth estimates the width in pixels of s at font size px in a
// proportional sans-serif face; generous, so that laid-out items do not touch.
func textWidth(s string, px float64) float64 {
	return float64(utf8.RuneCountInString(s)) * px * 0.58
}
