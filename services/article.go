package services

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// Article is the comparison, rendered once from Markdown at start.
type Article struct {
	Title       string
	Description string
	Published   time.Time
	Updated     time.Time
	Body        template.HTML // rendered from our own Markdown, raw HTML disabled
	Sections    []Heading
	FAQ         []FAQEntry
}

// Heading is a second-level section of the article.
type Heading struct {
	ID   string
	Text string
}

// FAQEntry is one question and answer of the FAQ.
type FAQEntry struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

type articleMeta struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Published   string     `json:"published"`
	Updated     string     `json:"updated"`
	FAQ         []FAQEntry `json:"faq"`
}

// LoadArticle renders article.md and reads article.json from fsys. It fails
// when a section the assessment links to is missing.
func LoadArticle(fsys fs.FS) (*Article, error) {
	var meta articleMeta
	raw, err := fs.ReadFile(fsys, "article.json")
	if err != nil {
		return nil, fmt.Errorf("read article metadata: %w", err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("article metadata: %w", err)
	}
	source, err := fs.ReadFile(fsys, "article.md")
	if err != nil {
		return nil, fmt.Errorf("read article: %w", err)
	}
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM, extension.Typographer),
		goldmark.WithParserOptions(parser.WithAttribute(), parser.WithAutoHeadingID()),
	)
	doc := md.Parser().Parse(text.NewReader(source))
	var body bytes.Buffer
	if err := md.Renderer().Render(&body, source, doc); err != nil {
		return nil, fmt.Errorf("render article: %w", err)
	}
	a := &Article{
		Title: meta.Title, Description: meta.Description, FAQ: meta.FAQ,
		// Wide tables scroll inside their own box on phones.
		Body:     template.HTML(strings.ReplaceAll(strings.ReplaceAll(body.String(), "<table>", `<div class="table-scroll"><table>`), "</table>", "</table></div>")),
		Sections: sectionHeadings(doc, source),
	}
	if a.Published, err = time.Parse(time.DateOnly, meta.Published); err != nil {
		return nil, fmt.Errorf("article published date: %w", err)
	}
	if a.Updated, err = time.Parse(time.DateOnly, meta.Updated); err != nil {
		return nil, fmt.Errorf("article updated date: %w", err)
	}
	for _, id := range ArticleSections {
		if !slices.ContainsFunc(a.Sections, func(h Heading) bool { return h.ID == id }) {
			return nil, fmt.Errorf("article lacks section #%s", id)
		}
	}
	return a, nil
}

func sectionHeadings(doc ast.Node, source []byte) []Heading {
	var out []Heading
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !entering || !ok || h.Level != 2 {
			return ast.WalkContinue, nil
		}
		id, _ := h.AttributeString("id")
		idBytes, _ := id.([]byte)
		out = append(out, Heading{ID: string(idBytes), Text: string(nodeText(h, source))})
		return ast.WalkSkipChildren, nil
	})
	return out
}

func nodeText(n ast.Node, source []byte) []byte {
	var b bytes.Buffer
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			b.Write(t.Segment.Value(source))
			continue
		}
		b.Write(nodeText(c, source))
	}
	return b.Bytes()
}

// FAQJSONLD is the FAQ as a schema.org FAQPage document.
func (a *Article) FAQJSONLD() ([]byte, error) {
	type answer struct {
		Type string `json:"@type"`
		Text string `json:"text"`
	}
	type question struct {
		Type   string `json:"@type"`
		Name   string `json:"name"`
		Answer answer `json:"acceptedAnswer"`
	}
	doc := struct {
		Context string     `json:"@context"`
		Type    string     `json:"@type"`
		Main    []question `json:"mainEntity"`
	}{Context: "https://schema.org", Type: "FAQPage"}
	for _, f := range a.FAQ {
		doc.Main = append(doc.Main, question{Type: "Question", Name: f.Question, Answer: answer{Type: "Answer", Text: f.Answer}})
	}
	return json.Marshal(doc)
}
