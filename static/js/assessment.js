// Progressive enhancement of the assessment and the lead form. Without this
// script both are plain HTML forms that post and redirect.
(function () {
  'use strict';

  var embed = new URLSearchParams(window.location.search).get('embed') === '1';
  var withEmbed = function (path) { return embed ? path + '?embed=1' : path; };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        return { status: resp.status, data: data };
      });
    });
  }

  function attribution(form) {
    var utm = {};
    form.querySelectorAll('input[type=hidden][name^="utm_"]').forEach(function (i) { utm[i.name] = i.value; });
    var ref = form.querySelector('input[type=hidden][name=referrer]');
    return { utm: utm, referrer: ref ? ref.value : '' };
  }

  // ---- Assessment: one question at a time ----
  function enhanceAssessment(form) {
    var questions = Array.prototype.slice.call(form.querySelectorAll('fieldset.question'));
    if (!questions.length) return;
    var progress = form.querySelector('.progress');
    var label = form.querySelector('.progress-label');
    var bar = form.querySelector('.progress-bar');
    var back = form.querySelector('.js-back');
    var next = form.querySelector('.js-next');
    var submit = form.querySelector('.js-submit');
    var formError = form.querySelector('.form-error');
    // The start report, once sent: a promise of whether the server counted
    // it, so the submission can say so and the start is counted once.
    var started = null;
    var current = Math.max(0, questions.findIndex(function (q) { return q.classList.contains('has-error'); }));

    form.classList.add('stepped');
    progress.hidden = false;

    function answered(q) { return q.querySelector('input:checked') !== null; }

    function setError(q, message) {
      var p = q.querySelector('.field-error');
      if (!p && message) {
        p = el('p', { 'class': 'field-error', role: 'alert' });
        q.querySelector('.options').before(p);
      }
      if (p) p.textContent = message || '';
      q.classList.toggle('has-error', Boolean(message));
    }

    function show(i) {
      current = i;
      questions.forEach(function (q, j) { q.hidden = j !== i; });
      label.textContent = 'Question ' + (i + 1) + ' of ' + questions.length;
      bar.style.width = Math.round((i / questions.length) * 100) + '%';
      back.hidden = i === 0;
      next.hidden = i === questions.length - 1;
      submit.hidden = i !== questions.length - 1;
    }

    function focusQuestion() {
      var first = questions[current].querySelector('input:checked') || questions[current].querySelector('input');
      if (first) first.focus({ preventScroll: true });
    }

    function advance() {
      var q = questions[current];
      if (!answered(q)) { setError(q, 'Please choose an answer.'); return; }
      setError(q, '');
      if (current < questions.length - 1) { show(current + 1); focusQuestion(); }
    }

    // Arrow keys move between radios and fire change too, so only a pointer
    // choice moves on by itself; keyboard users press Next.
    var pointer = false;
    form.addEventListener('pointerdown', function () { pointer = true; });
    form.addEventListener('keydown', function () { pointer = false; });

    form.addEventListener('change', function (e) {
      if (!started) {
        started = fetch('/api/v1/assessments/started', { method: 'POST', credentials: 'same-origin', keepalive: true })
          .then(function (resp) {
            if (resp.ok) form.querySelector('input[name=js_started]').value = '1';
            return resp.ok;
          }, function () { return false; });
      }
      var q = e.target.closest('fieldset.question');
      if (q) setError(q, '');
      // "None of these" and the other choices exclude each other; the
      // server refuses the pair, so the page never lets it happen.
      if (q && e.target.type === 'checkbox' && e.target.checked) {
        var none = e.target.value === 'none';
        q.querySelectorAll('input[type=checkbox]:checked').forEach(function (box) {
          if (box !== e.target && (box.value === 'none') !== none) box.checked = false;
        });
      }
      if (pointer && e.target.type === 'radio' && current < questions.length - 1) window.setTimeout(advance, 180);
    });
    next.addEventListener('click', advance);
    back.addEventListener('click', function () { if (current > 0) { show(current - 1); focusQuestion(); } });

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var missing = questions.findIndex(function (q) { return !answered(q); });
      if (missing >= 0) { show(missing); setError(questions[missing], 'Please choose an answer.'); return; }
      var answers = {};
      questions.forEach(function (q) {
        var values = Array.prototype.map.call(q.querySelectorAll('input:checked'), function (i) { return i.value; });
        answers[q.dataset.question] = q.hasAttribute('data-multiple') ? values : values[0];
      });
      var attr = attribution(form);
      submit.disabled = true;
      (started || Promise.resolve(false)).then(function (reported) {
        return postJSON('/api/v1/assessments', { answers: answers, utm: attr.utm, referrer: attr.referrer, started_reported: reported });
      }).then(function (res) {
        submit.disabled = false;
        if (res.status === 201) { showResult(form, res.data); return; }
        if (res.status === 422 && res.data.errors) {
          var first = -1;
          questions.forEach(function (q, i) {
            var msg = res.data.errors[q.dataset.question];
            setError(q, msg);
            if (msg && first < 0) first = i;
          });
          if (first >= 0) show(first);
          return;
        }
        showFormError(formError, form, res.data.message || 'Something went wrong. Please try again.');
      }).catch(function () { form.submit(); });
    });

    show(current);
  }

  function showFormError(p, form, message) {
    if (!p) { p = el('p', { 'class': 'form-error', role: 'alert' }); form.prepend(p); }
    p.textContent = message;
    p.hidden = false;
  }

  function optionLabel(form, question, option) {
    var input = form.querySelector('input[name="' + question + '"][value="' + option + '"]');
    return input ? input.closest('label').textContent.trim() : '';
  }

  function showResult(form, result) {
    var box = document.getElementById('assessment-result');
    var team = result.team === 'nodejs' ? 'Node.js' : 'Django';
    var pct = Math.round(result.confidence * 100);
    box.textContent = '';
    var card = el('div', { 'class': 'result-card team-' + result.team });
    card.append(el('p', { 'class': 'eyebrow' }, 'Our recommendation'));
    var heading = el('h2', { 'class': 'result-team', tabindex: '-1' }, team);
    card.append(heading);
    var conf = el('div', { 'class': 'confidence' });
    var meter = el('meter', { min: '0', max: '100', low: '60', high: '75', optimum: '100', value: String(pct) }, pct + '%');
    conf.append(meter, el('p', {}, 'Confidence ' + pct + '% · Django ' + result.scores.django + ' points, Node.js ' + result.scores.nodejs + ' points'));
    card.append(conf, el('h3', {}, 'What decided it'));
    var list = el('ul', { 'class': 'reasons' });
    result.reasons.forEach(function (r) {
      var li = el('li');
      li.append(el('strong', {}, optionLabel(form, r.question_id, r.option_id)), el('br'), document.createTextNode(r.text + ' '));
      var a = el('a', { href: r.article_url, target: '_top' }, 'Read more');
      li.append(a);
      list.append(li);
    });
    card.append(list);
    var again = el('button', { type: 'button', 'class': 'button button-secondary button-small' }, 'Change my answers');
    again.addEventListener('click', function () { box.hidden = true; form.hidden = false; });
    card.append(again);
    box.append(card);

    var tpl = document.getElementById('lead-form-template');
    var wrapper = el('div', { 'class': 'card lead-card' });
    wrapper.append(tpl.content.cloneNode(true));
    var leadForm = wrapper.querySelector('form');
    leadForm.action = withEmbed('/assessment/' + result.id + '/lead');
    leadForm.querySelector('input[name=assessment_id]').value = result.id;
    box.append(wrapper);
    enhanceLeadForm(leadForm, attribution(form));

    form.hidden = true;
    box.hidden = false;
    heading.focus({ preventScroll: true });
    box.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  // ---- Lead form: region-aware time zones, inline errors ----
  function enhanceLeadForm(form, attr) {
    var select = form.querySelector('select[name=timezone]');
    var radios = form.querySelectorAll('input[name=region]');
    var groups = select.querySelectorAll('optgroup');

    function region() {
      var r = form.querySelector('input[name=region]:checked');
      return r ? r.value : '';
    }
    function filterZones() {
      var current = region();
      groups.forEach(function (g) {
        var off = current !== '' && g.dataset.region !== current;
        g.disabled = off;
        g.hidden = off;
      });
      var opt = select.selectedOptions[0];
      if (opt && opt.parentElement.disabled) select.value = '';
    }
    if (!region() && !select.value) {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      var match = Array.prototype.find.call(select.options, function (o) { return o.value === zone; });
      if (match) {
        var r = form.querySelector('input[name=region][value="' + match.parentElement.dataset.region + '"]');
        if (r) r.checked = true;
        select.value = zone;
      }
    }
    filterZones();
    radios.forEach(function (r) { r.addEventListener('change', filterZones); });

    if (!attr) return; // the server-rendered result page keeps its plain POST

    var formError = form.querySelector('.form-error');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      form.querySelectorAll('[data-field]').forEach(function (f) {
        f.classList.remove('has-error');
        var p = f.querySelector('.field-error');
        if (p) p.textContent = '';
        f.querySelectorAll('[aria-invalid]').forEach(function (i) { i.removeAttribute('aria-invalid'); });
      });
      formError.hidden = true;
      var v = function (name) { var i = form.elements[name]; return i ? i.value : ''; };
      var body = {
        assessment_id: v('assessment_id'), name: v('name'), email: v('email'), company: v('company'),
        region: region(), timezone: v('timezone'), message: v('message'), website: v('website'),
        consent: form.elements.consent.checked, utm: attr.utm, referrer: attr.referrer
      };
      var button = form.querySelector('button[type=submit]');
      button.disabled = true;
      postJSON('/api/v1/leads', body).then(function (res) {
        button.disabled = false;
        if (res.status === 201) { window.location.assign(withEmbed('/leads/' + res.data.id)); return; }
        if (res.status === 422 && res.data.errors) {
          var first = null;
          form.querySelectorAll('[data-field]').forEach(function (field) {
            var msg = res.data.errors[field.dataset.field];
            if (!msg) return;
            field.classList.add('has-error');
            field.querySelector('.field-error').textContent = msg;
            field.querySelectorAll('input, select, textarea').forEach(function (i) { i.setAttribute('aria-invalid', 'true'); });
            if (!first) first = field;
          });
          showFormError(formError, form, 'Please correct the highlighted fields.');
          if (first) { var input = first.querySelector('input, select, textarea'); if (input) input.focus(); }
          return;
        }
        showFormError(formError, form, res.data.message || 'Something went wrong. Please try again.');
      }).catch(function () { form.submit(); });
    });
  }

  var assessment = document.getElementById('assessment-form');
  if (assessment) enhanceAssessment(assessment);
  document.querySelectorAll('.result-page #lead-form').forEach(function (f) { enhanceLeadForm(f, null); });
})();
