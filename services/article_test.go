package services_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"consultd/services"
)

func TestLoadArticle(t *testing.T) {
	a, err := services.LoadArticle(os.DirFS("../content"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title == "" || len(a.Description) < 50 || len(a.FAQ) < 4 {
		t.Fatalf("metadata: title %q, description %d chars, %d FAQ entries", a.Title, len(a.Description), len(a.FAQ))
	}
	body := string(a.Body)
	for _, want := range []string{`<h2 id="snapshot">`, `<h2 id="verdict">`, `<div class="table-scroll"><table>`, "<th>Django</th>"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "<!-- raw HTML omitted -->") {
		t.Error("article body contains raw HTML")
	}
	var ld struct {
		Type string `json:"@type"`
		Main []struct {
			Name   string `json:"name"`
			Answer struct {
				Text string `json:"text"`
			} `json:"acceptedAnswer"`
		} `json:"mainEntity"`
	}
	raw, err := a.FAQJSONLD()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ld); err != nil {
		t.Fatal(err)
	}
	if ld.Type != "FAQPage" || len(ld.Main) != len(a.FAQ) || ld.Main[0].Answer.Text == "" {
		t.Fatalf("FAQ JSON-LD = %s", raw)
	}
}

// The article is written in our own words: no sentence of the seed text may
// appear in it, checked as runs of eight words.
func TestArticleCopiesNoSeedSentence(t *testing.T) {
	seed, err := os.ReadFile("../../shared/seed/000_81779b46c12b343a.txt")
	if err != nil {
		t.Skip("seed text not beside the repository:", err)
	}
	article, err := os.ReadFile("../content/article.md")
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := os.ReadFile("../content/article.json")
	ours := words(string(article) + " " + string(meta))
	ourRuns := map[string]bool{}
	for i := 0; i+8 <= len(ours); i++ {
		ourRuns[strings.Join(ours[i:i+8], " ")] = true
	}
	theirs := words(string(seed))
	for i := 0; i+8 <= len(theirs); i++ {
		if run := strings.Join(theirs[i:i+8], " "); ourRuns[run] {
			t.Errorf("article repeats the seed: %q", run)
		}
	}
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}
