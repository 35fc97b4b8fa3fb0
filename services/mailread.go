package services

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// MailView is a stored message made readable for staff: the headers people
// look at, decoded, and the plain-text body.
type MailView struct {
	From, To, Subject, Date string
	Text                    string     // the first text/plain part that is not an attachment, decoded
	Parts                   []MailPart // every leaf part, in order
	Problem                 string     // set when the message could not be read in full
}

// MailPart is one leaf of a message's MIME tree.
type MailPart struct {
	Type string // e.g. "text/html", "application/ics"
	Name string // the file name of an attachment
}

const (
	maxMailDepth = 8       // nested multiparts followed
	maxMailText  = 1 << 20 // bytes of text shown
)

// ReadMail decodes raw RFC 5322 bytes: encoded-word headers, MIME
// multiparts, quoted-printable and base64. What cannot be read is named in
// Problem rather than failing, so the rest still shows.
func ReadMail(raw []byte) MailView {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return MailView{Problem: "The message headers could not be read; download the .eml file to see it as stored."}
	}
	dec := mime.WordDecoder{CharsetReader: charsetReader}
	header := func(name string) string {
		v := msg.Header.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			v = d
		}
		return strings.ToValidUTF8(v, "\uFFFD")
	}
	v := MailView{From: header("From"), To: header("To"), Subject: header("Subject"), Date: header("Date")}
	if err := v.walk(textproto.MIMEHeader(msg.Header), msg.Body, 0); err != nil {
		v.Problem = "Part of the message could not be decoded; download the .eml file to see it as stored."
	}
	return v
}

// walk visits one MIME entity: it descends into multiparts and keeps the
// first inline text/plain leaf as the text.
func (v *MailView) walk(h textproto.MIMEHeader, body io.Reader, depth int) error {
	media, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		media, params = "text/plain", map[string]string{"charset": "us-ascii"} // RFC 2045 §5.2 default
		if h.Get("Content-Type") != "" {
			media = "application/octet-stream"
		}
	}
	if strings.HasPrefix(media, "multipart/") && depth < maxMailDepth {
		// Raw parts: NextPart would decode quoted-printable itself and hide
		// the encoding from decodeTransfer.
		parts := multipart.NewReader(body, params["boundary"])
		for {
			p, err := parts.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := v.walk(p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	v.Parts = append(v.Parts, MailPart{Type: media, Name: strings.ToValidUTF8(cmp.Or(dparams["filename"], params["name"]), "\uFFFD")})
	if media != "text/plain" || disposition == "attachment" || v.Text != "" {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(decodeTransfer(h.Get("Content-Transfer-Encoding"), body), maxMailText))
	if err != nil {
		return err
	}
	v.Text = strings.ReplaceAll(toUTF8(data, params["charset"]), "\r\n", "\n")
	return nil
}

func decodeTransfer(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r) // skips the line breaks
	}
	return r
}

// toUTF8 reads Latin-1 byte for byte; anything else is taken as UTF-8, with
// invalid bytes shown as U+FFFD.
func toUTF8(data []byte, charset string) string {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "windows-1252":
		var b strings.Builder
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		return b.String()
	}
	if utf8.Valid(data) {
		return string(data)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// charsetReader lets encoded words in any charset through as bytes; the
// header is then made valid UTF-8.
func charsetReader(_ string, input io.Reader) (io.Reader, error) { return input, nil }
