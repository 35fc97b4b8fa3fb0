package services

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
)

// AssessmentDefinition is the versioned questionnaire from content/assessment.json.
type AssessmentDefinition struct {
	Version   string     `json:"version"`
	TieBreak  string     `json:"tie_break"`
	Questions []Question `json:"questions"`
}

// Question is one assessment question; Multiple allows several options.
type Question struct {
	ID       string   `json:"id"`
	Text     string   `json:"text"`
	Help     string   `json:"help"`
	Multiple bool     `json:"multiple"`
	Options  []Option `json:"options"`
}

// Option is one answer and how much it weighs toward each team.
type Option struct {
	ID      string  `json:"id"`
	Label   string  `json:"label"`
	Weights Weights `json:"weights"`
	Reason  string  `json:"reason"`
	Section string  `json:"section"`
}

// Weights are an option's points toward each team.
type Weights struct {
	Django int `json:"django"`
	NodeJS int `json:"nodejs"`
}

func (w Weights) toward(team string) int {
	if team == TeamDjango {
		return w.Django
	}
	return w.NodeJS
}

// NoneOption is the id of a multiple-choice question's "None of these"
// option, which excludes every other option of that question.
const NoneOption = "none"

// Answers maps a question id to the chosen option ids.
type Answers map[string][]string

// AssessmentResult is the recommendation for one set of answers.
type AssessmentResult struct {
	Team       string   `json:"team"`
	Confidence float64  `json:"confidence"`
	Scores     Weights  `json:"scores"`
	Reasons    []Reason `json:"reasons"`
}

// Reason is one answer that decided the result, with the article section
// that explains it.
type Reason struct {
	QuestionID string `json:"question_id"`
	OptionID   string `json:"option_id"`
	Text       string `json:"text"`
	Team       string `json:"team"`
	Section    string `json:"section"`
}

var slugPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ParseAssessment reads and checks a definition: unique ids, known article
// sections, a tie-break question, and a single question able to decide ties.
func ParseAssessment(data []byte, sections []string) (*AssessmentDefinition, error) {
	var def AssessmentDefinition
	if err := json.Unmarshal(data, &def); err != nil {
		return nil, fmt.Errorf("assessment definition: %w", err)
	}
	if def.Version == "" {
		return nil, fmt.Errorf("assessment definition: version is empty")
	}
	if n := len(def.Questions); n < 8 || n > 12 {
		return nil, fmt.Errorf("assessment definition: %d questions, want 8 to 12", n)
	}
	seen := map[string]bool{}
	for _, q := range def.Questions {
		if !slugPattern.MatchString(q.ID) || seen[q.ID] {
			return nil, fmt.Errorf("assessment definition: question id %q is not a unique slug", q.ID)
		}
		seen[q.ID] = true
		if err := checkOptions(q, sections); err != nil {
			return nil, err
		}
	}
	tie, ok := def.question(def.TieBreak)
	if !ok || tie.Multiple {
		return nil, fmt.Errorf("assessment definition: tie_break %q must name a single-choice question", def.TieBreak)
	}
	return &def, nil
}

func checkOptions(q Question, sections []string) error {
	if q.Text == "" || len(q.Options) < 2 {
		return fmt.Errorf("assessment definition: question %q needs text and at least two options", q.ID)
	}
	seen := map[string]bool{}
	for _, o := range q.Options {
		if !slugPattern.MatchString(o.ID) || seen[o.ID] {
			return fmt.Errorf("assessment definition: option %q of %q is not a unique slug", o.ID, q.ID)
		}
		seen[o.ID] = true
		if o.Weights.Django < 0 || o.Weights.NodeJS < 0 || o.Label == "" || o.Reason == "" {
			return fmt.Errorf("assessment definition: option %s.%s needs a label, a reason and non-negative weights", q.ID, o.ID)
		}
		if !slices.Contains(sections, o.Section) {
			return fmt.Errorf("assessment definition: option %s.%s links to unknown article section %q", q.ID, o.ID, o.Section)
		}
	}
	return nil
}

func (d *AssessmentDefinition) question(id string) (Question, bool) {
	for _, q := range d.Questions {
		if q.ID == id {
			return q, true
		}
	}
	return Question{}, false
}

func (q Question) option(id string) (Option, bool) {
	for _, o := range q.Options {
		if o.ID == id {
			return o, true
		}
	}
	return Option{}, false
}

// Score validates answers and computes the recommendation. Every question
// must be answered; unknown questions or options are refused per field.
func (d *AssessmentDefinition) Score(answers Answers) (AssessmentResult, error) {
	chosen, err := d.chosenOptions(answers)
	if err != nil {
		return AssessmentResult{}, err
	}
	var res AssessmentResult
	for _, c := range chosen {
		res.Scores.Django += c.option.Weights.Django
		res.Scores.NodeJS += c.option.Weights.NodeJS
	}
	res.Team = d.winner(res.Scores, answers)
	total := res.Scores.Django + res.Scores.NodeJS
	res.Confidence = 0.5
	if total > 0 {
		res.Confidence = math.Round(float64(res.Scores.toward(res.Team))/float64(total)*1000) / 1000
	}
	res.Reasons = decidingReasons(chosen, res.Team)
	return res, nil
}

type chosenOption struct {
	question Question
	option   Option
	order    int
}

func (d *AssessmentDefinition) chosenOptions(answers Answers) ([]chosenOption, error) {
	fields := map[string]string{}
	for qid := range answers {
		if _, ok := d.question(qid); !ok {
			fields[qid] = "Unknown question."
		}
	}
	var chosen []chosenOption
	for _, q := range d.Questions {
		ids := answers[q.ID]
		switch {
		case len(ids) == 0:
			fields[q.ID] = "Please answer this question."
			continue
		case len(ids) > 1 && !q.Multiple:
			fields[q.ID] = "Choose one answer."
			continue
		}
		if none, ok := q.option(NoneOption); ok && q.Multiple && len(ids) > 1 && slices.Contains(ids, NoneOption) {
			fields[q.ID] = "\u201c" + none.Label + "\u201d cannot be chosen with other answers: untick it or them."
			continue
		}
		seen := map[string]bool{}
		for _, id := range ids {
			opt, ok := q.option(id)
			if !ok || seen[id] {
				fields[q.ID] = "Choose one of the listed answers."
				break
			}
			seen[id] = true
			chosen = append(chosen, chosenOption{question: q, option: opt, order: len(chosen)})
		}
	}
	if len(fields) > 0 {
		return nil, Invalid(fields)
	}
	return chosen, nil
}

// winner applies the documented tie rule: on equal scores the answer to the
// tie-break question (the team's language) decides; when that answer leans
// neither way, Django wins as the more conventional, easier-to-staff default.
func (d *AssessmentDefinition) winner(s Weights, answers Answers) string {
	switch {
	case s.Django > s.NodeJS:
		return TeamDjango
	case s.NodeJS > s.Django:
		return TeamNodeJS
	}
	q, _ := d.question(d.TieBreak)
	if ids := answers[d.TieBreak]; len(ids) == 1 {
		if o, ok := q.option(ids[0]); ok && o.Weights.NodeJS > o.Weights.Django {
			return TeamNodeJS
		}
	}
	return TeamDjango
}

// decidingReasons picks the 2-4 answers that pushed hardest toward the winner:
// the largest margin first, then the largest pull, then questionnaire order.
func decidingReasons(chosen []chosenOption, team string) []Reason {
	other := TeamNodeJS
	if team == TeamNodeJS {
		other = TeamDjango
	}
	margin := func(c chosenOption) int { return c.option.Weights.toward(team) - c.option.Weights.toward(other) }
	ranked := append([]chosenOption(nil), chosen...)
	sort.SliceStable(ranked, func(i, j int) bool {
		mi, mj := margin(ranked[i]), margin(ranked[j])
		if mi != mj {
			return mi > mj
		}
		return ranked[i].option.Weights.toward(team) > ranked[j].option.Weights.toward(team)
	})
	var reasons []Reason
	for _, c := range ranked {
		if len(reasons) == 4 || (margin(c) <= 0 && len(reasons) >= 2) {
			break
		}
		lean := team
		if margin(c) < 0 {
			lean = other
		} else if margin(c) == 0 {
			lean = "neutral"
		}
		reasons = append(reasons, Reason{QuestionID: c.question.ID, OptionID: c.option.ID, Text: c.option.Reason, Team: lean, Section: c.option.Section})
	}
	return reasons
}

// ArticleSections are the anchors an assessment reason may link to.
var ArticleSections = []string{"tldr", "snapshot", "architecture", "concurrency", "performance", "scalability", "security", "ecosystem", "use-cases", "verdict"}
