package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// Assets serves embedded static files under content-hash names, so they can
// be cached for a year and still change the moment a deploy changes them.
type Assets struct {
	fsys   fs.FS
	hashed map[string]string // "css/site.css" -> "css/site.1a2b3c4d5e.css"
	source map[string]string // the reverse
}

// NewAssets hashes every file in fsys once.
func NewAssets(fsys fs.FS) (*Assets, error) {
	a := &Assets{fsys: fsys, hashed: map[string]string{}, source: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(name, ".go") {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ext := path.Ext(name)
		hashedName := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		a.hashed[name], a.source[hashedName] = hashedName, name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hash static assets: %w", err)
	}
	return a, nil
}

// URL is the template function {{asset "css/site.css"}}; an unknown name is a
// programming error caught by the template tests.
func (a *Assets) URL(name string) (string, error) {
	h, ok := a.hashed[name]
	if !ok {
		return "", fmt.Errorf("unknown asset %q", name)
	}
	return "/static/" + h, nil
}

func (a *Assets) serve(c *gin.Context) {
	name, ok := a.source[strings.TrimPrefix(c.Param("filepath"), "/")]
	if !ok {
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	data, err := fs.ReadFile(a.fsys, name)
	if err != nil {
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	c.Data(http.StatusOK, ctype, data)
}
