package services

import "testing"

func TestCleanLineDropsFormatCharacters(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"right-to-left override", "\u202EAna Silva", "Ana Silva"},
		{"only invisible characters", "\u202E\uFEFF\u200B", ""},
		{"zero-width space inside", "Ana\u200B Silva", "Ana Silva"},
		{"soft hyphen", "Ana\u00ADMaria", "AnaMaria"},
		{"isolates", "\u2066Acme\u2069", "Acme"},
		{"ZWNJ in a Persian name", "می\u200Cخواهم", "می\u200Cخواهم"},
		{"ZWJ in an emoji sequence", "Ana 👩\u200D💻", "Ana 👩\u200D💻"},
		{"ZWJ after a skin tone and before a variation selector", "👩🏽\u200D❤\uFE0F", "👩🏽\u200D❤\uFE0F"},
		{"joiners at the edges", "\u200DAna\u200C", "Ana"},
		{"joiners next to a space", "Ana \u200DSilva", "Ana Silva"},
		{"joiners side by side", "a\u200D\u200Db", "ab"},
		{"controls still become spaces", "Ana\x00Silva\r\n", "Ana Silva"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanLine(tt.in); got != tt.want {
				t.Fatalf("cleanLine(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanTextDropsBidiControls(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"embeddings and overrides", "pay \u202Atoday\u202C \u202B\u202D\u202Eor not", "pay today or not"},
		{"isolates", "\u2066a\u2067b\u2068c\u2069", "abc"},
		{"BOM and zero-width space", "\uFEFFhello\u200B there", "hello there"},
		{"lines and joiners kept", "line one\nمی\u200Cخواهم 👩\u200D💻", "line one\nمی\u200Cخواهم 👩\u200D💻"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanText(tt.in); got != tt.want {
				t.Fatalf("cleanText(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}
