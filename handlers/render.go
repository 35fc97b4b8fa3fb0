package handlers

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"

	"github.com/gin-gonic/gin/render"
)

// Templates is one template set per page: the layout and partials, cloned,
// plus that page's file. It implements gin's render.HTMLRender.
type Templates struct {
	pages map[string]*template.Template
}

// LoadTemplates parses every page under pages/ against the shared layout.
// A page file that fails to parse stops start-up.
func LoadTemplates(fsys fs.FS, funcs template.FuncMap) (*Templates, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "layout.html", "partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	files, err := fs.Glob(fsys, "pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	t := &Templates{pages: make(map[string]*template.Template, len(files))}
	for _, file := range files {
		clone, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone layout for %s: %w", file, err)
		}
		if _, err := clone.ParseFS(fsys, file); err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		t.pages[strings.TrimSuffix(path.Base(file), ".html")] = clone
	}
	return t, nil
}

// Require fails when any named page is missing, so a typo breaks start-up
// rather than a request.
func (t *Templates) Require(names ...string) error {
	for _, name := range names {
		if _, ok := t.pages[name]; !ok {
			return fmt.Errorf("template pages/%s.html is missing", name)
		}
	}
	return nil
}

// Instance renders the page name through the layout.
func (t *Templates) Instance(name string, data any) render.Render {
	return render.HTML{Template: t.pages[name], Name: "layout", Data: data}
}
