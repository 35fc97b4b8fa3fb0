package services_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"consultd/services"
)

func TestReadMailDecodesWhatRenderEmailWrites(t *testing.T) {
	long := strings.Repeat("Zoë's très long line, ", 8) + "end."
	raw, err := services.RenderEmail(services.Email{
		From:     services.Person{Name: "Stackpoint Consulting", Email: "consult@example.com"},
		To:       services.Person{Name: "Zoë Tremblay", Email: "zoe@example.com"},
		Subject:  "Your Django consultation — Tue 3 Mar <soon>",
		Text:     "Hello Zoë,\n\n" + long + "\n= not an escape\n",
		HTML:     "<p>Hello Zoë</p>",
		Calendar: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
		Method:   services.MethodRequest,
		Date:     time.Date(2026, 3, 2, 15, 4, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	v := services.ReadMail(raw)
	if v.Problem != "" {
		t.Fatalf("problem: %s", v.Problem)
	}
	for name, tc := range map[string][2]string{
		"From":    {v.From, `"Stackpoint Consulting" <consult@example.com>`},
		"To":      {v.To, "Zoë Tremblay <zoe@example.com>"},
		"Subject": {v.Subject, "Your Django consultation — Tue 3 Mar <soon>"},
		"Date":    {v.Date, "Mon, 02 Mar 2026 15:04:00 +0000"},
		"Text":    {v.Text, "Hello Zoë,\n\n" + long + "\n= not an escape\n"},
	} {
		if tc[0] != tc[1] {
			t.Errorf("%s = %q, want %q", name, tc[0], tc[1])
		}
	}
	var types []string
	for _, p := range v.Parts {
		types = append(types, p.Type+" "+p.Name)
	}
	if want := []string{"text/plain ", "text/html ", "text/calendar ", "application/ics invite.ics"}; !slices.Equal(types, want) {
		t.Fatalf("parts = %q, want %q", types, want)
	}
}

func TestReadMailEncodings(t *testing.T) {
	for name, tc := range map[string]struct {
		raw     string
		text    string
		problem bool
		subject string
	}{
		"single base64 part": {
			raw:  "Subject: =?UTF-8?B?UsOpc3Vtw6k=?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nQm9uam91ciDDoCB0\r\nb3VzLg==\r\n",
			text: "Bonjour à tous.", subject: "Résumé",
		},
		"no content type": {
			raw:  "Subject: plain\r\n\r\nJust text.\r\n",
			text: "Just text.\n", subject: "plain",
		},
		"latin-1 quoted-printable": {
			raw:  "Subject: =?ISO-8859-1?Q?caf=E9?=\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 cr=E8me\r\n",
			text: "café crème\n", subject: "café",
		},
		"text only as an attachment": {
			raw:  "Subject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nnotes\r\n--b--\r\n",
			text: "", subject: "a",
		},
		"cut-off multipart": {
			raw:  "Subject: cut\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>never closed",
			text: "first part", problem: true, subject: "cut",
		},
		"no headers at all": {raw: "garbage without a blank line", problem: true},
	} {
		t.Run(name, func(t *testing.T) {
			v := services.ReadMail([]byte(tc.raw))
			if v.Text != tc.text || v.Subject != tc.subject || (v.Problem != "") != tc.problem {
				t.Fatalf("text %q, subject %q, problem %q; want %q, %q, problem %v", v.Text, v.Subject, v.Problem, tc.text, tc.subject, tc.problem)
			}
		})
	}
}
