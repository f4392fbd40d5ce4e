package qrcode

import "crypto/rand"

// RandomCode returns n characters of RandomAlphabet from crypto/rand: short codes people can read aloud and type
// without confusing 0/O or 1/I/L (verification codes use it too).
func RandomCode(n int) (string, error) {
	b, err := randomString(rand.Reader, n)
	return string(b), err
}
