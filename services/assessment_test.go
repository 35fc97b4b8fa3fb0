package services_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"consultd/services"
)

func loadDefinition(t testing.TB) *services.AssessmentDefinition {
	t.Helper()
	data, err := os.ReadFile("../content/assessment.json")
	if err != nil {
		t.Fatal(err)
	}
	def, err := services.ParseAssessment(data, services.ArticleSections)
	if err != nil {
		t.Fatalf("content/assessment.json: %v", err)
	}
	return def
}

func TestAssessmentRoutingExamples(t *testing.T) {
	def := loadDefinition(t)
	data, err := os.ReadFile("../content/assessment_examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Examples []struct {
			Name    string                     `json:"name"`
			Team    string                     `json:"team"`
			Tie     bool                       `json:"tie"`
			Answers map[string]json.RawMessage `json:"answers"`
		} `json:"examples"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Examples) < 6 {
		t.Fatalf("only %d routing examples", len(file.Examples))
	}
	for _, ex := range file.Examples {
		t.Run(ex.Name, func(t *testing.T) {
			answers := services.Answers{}
			for q, raw := range ex.Answers {
				var one string
				if json.Unmarshal(raw, &one) == nil {
					answers[q] = []string{one}
					continue
				}
				var many []string
				if err := json.Unmarshal(raw, &many); err != nil {
					t.Fatal(err)
				}
				answers[q] = many
			}
			res, err := def.Score(answers)
			if err != nil {
				t.Fatalf("Score: %v", err)
			}
			if res.Team != ex.Team {
				t.Fatalf("team = %s (django %d, nodejs %d), documented %s", res.Team, res.Scores.Django, res.Scores.NodeJS, ex.Team)
			}
			if tie := res.Scores.Django == res.Scores.NodeJS; tie != ex.Tie {
				t.Fatalf("tie = %v (django %d, nodejs %d), documented %v", tie, res.Scores.Django, res.Scores.NodeJS, ex.Tie)
			}
			if n := len(res.Reasons); n < 2 || n > 4 {
				t.Fatalf("%d reasons, want 2 to 4", n)
			}
			if res.Confidence < 0 || res.Confidence > 1 {
				t.Fatalf("confidence %v outside [0, 1]", res.Confidence)
			}
		})
	}
}

func allAnswers(def *services.AssessmentDefinition, pick func(services.Question) string) services.Answers {
	a := services.Answers{}
	for _, q := range def.Questions {
		a[q.ID] = []string{pick(q)}
	}
	return a
}

func TestAssessmentScoreDetails(t *testing.T) {
	def := loadDefinition(t)
	// Always the option leaning hardest toward Node.js.
	res, err := def.Score(allAnswers(def, func(q services.Question) string {
		best := q.Options[0]
		for _, o := range q.Options {
			if o.Weights.NodeJS-o.Weights.Django > best.Weights.NodeJS-best.Weights.Django {
				best = o
			}
		}
		return best.ID
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Team != services.TeamNodeJS {
		t.Fatalf("team = %s, want nodejs", res.Team)
	}
	want := float64(res.Scores.NodeJS) / float64(res.Scores.NodeJS+res.Scores.Django)
	if diff := res.Confidence - want; diff > 0.001 || diff < -0.001 {
		t.Fatalf("confidence = %v, want %v", res.Confidence, want)
	}
	if len(res.Reasons) != 4 {
		t.Fatalf("%d reasons, want the 4 strongest", len(res.Reasons))
	}
	for i, r := range res.Reasons {
		if r.Team != services.TeamNodeJS || r.Section == "" || r.Text == "" {
			t.Errorf("reason %d = %+v, want a Node.js reason with text and section", i, r)
		}
	}
}

func TestAssessmentRefusesBadAnswers(t *testing.T) {
	def := loadDefinition(t)
	first := func(q services.Question) string { return q.Options[0].ID }
	tests := []struct {
		name   string
		mutate func(services.Answers)
		field  string
	}{
		{"missing answer", func(a services.Answers) { delete(a, def.Questions[0].ID) }, def.Questions[0].ID},
		{"unknown question", func(a services.Answers) { a["favourite_colour"] = []string{"blue"} }, "favourite_colour"},
		{"unknown option", func(a services.Answers) { a[def.Questions[1].ID] = []string{"nope"} }, def.Questions[1].ID},
		{"two answers to a single-choice question", func(a services.Answers) {
			a[def.Questions[2].ID] = []string{def.Questions[2].Options[0].ID, def.Questions[2].Options[1].ID}
		}, def.Questions[2].ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := allAnswers(def, first)
			tt.mutate(a)
			_, err := def.Score(a)
			var e *services.Error
			if !errors.As(err, &e) || e.Code != services.CodeInvalid || e.Fields[tt.field] == "" {
				t.Fatalf("error = %v, want invalid with a message for %q", err, tt.field)
			}
		})
	}
}

// "None of these" contradicts any other choice, so the pair is refused
// rather than scored as if the other choices stood.
func TestNoneOfTheseStandsAlone(t *testing.T) {
	def := loadDefinition(t)
	var multi services.Question
	for _, q := range def.Questions {
		if q.Multiple {
			multi = q
		}
	}
	first := func(q services.Question) string { return q.Options[0].ID }
	tests := []struct {
		name    string
		choice  []string
		refused bool
	}{
		{"none alone", []string{"none"}, false},
		{"two real options", []string{"chat", "admin"}, false},
		{"none first", []string{"none", "chat"}, true},
		{"none last", []string{"admin", "payments", "none"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := allAnswers(def, first)
			a[multi.ID] = tt.choice
			_, err := def.Score(a)
			var e *services.Error
			switch {
			case !tt.refused && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused && (!errors.As(err, &e) || !strings.Contains(e.Fields[multi.ID], "None of these")):
				t.Fatalf("error = %v, want a message for %s naming the option", err, multi.ID)
			}
		})
	}
	// A single-choice question may have an option called "none" too.
	a := allAnswers(def, first)
	a["realtime"] = []string{"none"}
	if _, err := def.Score(a); err != nil {
		t.Fatalf("realtime=none: %v", err)
	}
}

func TestParseAssessmentRejectsBrokenDefinitions(t *testing.T) {
	good, err := os.ReadFile("../content/assessment.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(string) string{
		"unknown section": func(s string) string {
			return strings.Replace(s, `"section": "concurrency"`, `"section": "nowhere"`, 1)
		},
		"bad tie break": func(s string) string {
			return strings.Replace(s, `"tie_break": "language"`, `"tie_break": "features"`, 1)
		},
		"duplicate id": func(s string) string { return strings.Replace(s, `"id": "io"`, `"id": "realtime"`, 1) },
		"not json":     func(s string) string { return s[:len(s)/2] },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := services.ParseAssessment([]byte(mutate(string(good))), services.ArticleSections); err == nil {
				t.Fatal("broken definition accepted")
			}
		})
	}
}
