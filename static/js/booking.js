// Booking without page reloads: pick a slot, confirm in place, see the
// result. Without this script every step is a plain link or form.
(function () {
  'use strict';
  var root = document.querySelector('[data-booking]');
  if (!root) return;
  var lead = root.dataset.lead;
  var token = root.dataset.token;
  var tz = root.dataset.tz;
  var type = root.dataset.type || '';
  var errorBox = root.querySelector('.slot-picker .form-error');
  var done = root.querySelector('.booking-done');
  var panel = null;

  // A mouse or touch choice applies at once; keyboard users step through
  // the list freely and press Show, since arrow keys fire change too.
  var zone = root.querySelector('select[data-autosubmit]');
  var pointer = false;
  if (zone) {
    zone.addEventListener('pointerdown', function () { pointer = true; });
    zone.addEventListener('keydown', function () { pointer = false; });
    zone.addEventListener('change', function () { if (pointer) zone.form.submit(); });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.setAttribute('tabindex', '-1');
    errorBox.focus({ preventScroll: true });
    errorBox.scrollIntoView({ behavior: 'smooth', block: 'center' });
  }

  function closePanel(returnTo) {
    if (panel) panel.remove();
    panel = null;
    root.querySelectorAll('.slot[aria-pressed=true]').forEach(function (b) { b.setAttribute('aria-pressed', 'false'); });
    if (returnTo) returnTo.focus();
  }

  function messageOf(data) {
    if (data.errors) {
      var first = data.errors.start || data.errors.timezone || Object.keys(data.errors).map(function (k) { return data.errors[k]; })[0];
      if (first) return first;
    }
    return data.message || 'Something went wrong. Please try again.';
  }

  function request(start) {
    var url = lead ? '/api/v1/bookings' : '/api/v1/bookings/' + encodeURIComponent(token) + '/reschedule';
    var body = lead ? { lead_id: lead, start: start, timezone: tz, type: type } : { start: start };
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) { return { status: resp.status, data: data }; });
    });
  }

  function path(u) { try { return new URL(u).pathname; } catch (e) { return u; } }

  function showDone(b) {
    root.querySelector('.slot-picker').hidden = true;
    var title = root.querySelector('h1');
    if (title) title.textContent = lead ? 'Your consultation is booked' : 'Your consultation has moved';
    var intro = root.querySelector('.lead');
    if (intro) intro.hidden = true;
    done.textContent = '';
    var news = lead ? "You're booked. The invite is on its way to your inbox." : 'Your consultation has moved. An updated invite is on its way.';
    if (b.emailed === false) {
      news = (lead ? "You're booked." : 'Your consultation has moved.') + " We've already sent several emails to this address today, so we held this one back: add the invite to your calendar with the button below.";
    }
    done.append(el('p', { 'class': 'banner banner-ok', role: 'status' }, news));
    done.append(el('h2', {}, b.when));
    done.append(el('p', {}, 'With ' + b.consultant.name + '.'));
    var actions = el('p', { 'class': 'form-actions' });
    var ics = el('a', { 'class': 'button button-secondary', href: path(b.ics_url), download: 'invite.ics' }, 'Add to calendar (.ics)');
    var manage = el('a', { 'class': 'button', href: path(b.manage_url) }, 'Manage booking');
    actions.append(ics, manage);
    done.append(actions);
    done.hidden = false;
    done.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  // The address on file was mailed instead of offered a second booking.
  function showEmailSent(message) {
    root.querySelector('.slot-picker').hidden = true;
    var title = root.querySelector('h1');
    if (title) title.textContent = 'Check your email';
    var intro = root.querySelector('.lead');
    if (intro) intro.hidden = true;
    done.textContent = '';
    done.append(el('p', { 'class': 'banner', role: 'status' }, message));
    done.hidden = false;
  }

  function showNext(next) {
    var box = root.querySelector('.next-slots');
    if (box) box.remove();
    if (!next || !next.length) return;
    box = el('div', { 'class': 'next-slots' });
    box.append(el('p', {}, 'Nearest free times:'));
    var buttons = el('div', { 'class': 'slot-buttons' });
    next.forEach(function (s) {
      var d = new Date(s.start);
      var label = d.toLocaleString('en-US', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' });
      buttons.append(el('button', { type: 'button', 'class': 'slot', 'data-start': s.start }, label));
    });
    box.append(buttons);
    errorBox.after(box);
  }

  function confirm(button, start) {
    closePanel();
    button.setAttribute('aria-pressed', 'true');
    var day = button.closest('.day');
    var label = (day ? day.querySelector('h3').textContent + ', ' : '') + button.textContent;
    panel = el('div', { 'class': 'confirm-panel', role: 'dialog', 'aria-label': 'Confirm this time' });
    panel.append(el('p', {}, (lead ? 'Book ' : 'Move to ') + label + '?'));
    var actions = el('div', { 'class': 'form-actions' });
    var back = el('button', { type: 'button', 'class': 'button button-secondary' }, 'Choose another time');
    var ok = el('button', { type: 'button', 'class': 'button' }, lead ? 'Confirm booking' : 'Move my consultation');
    actions.append(back, ok);
    panel.append(actions);
    root.querySelector('.slot-picker').append(panel);
    ok.focus();
    back.addEventListener('click', function () { closePanel(button); });
    panel.addEventListener('keydown', function (e) { if (e.key === 'Escape') closePanel(button); });
    ok.addEventListener('click', function () {
      ok.disabled = true;
      request(start).then(function (res) {
        // A paid session: the time is held; payment happens on Stripe's page.
        if (res.status === 201 && res.data.checkout_url) { window.location.assign(res.data.checkout_url); return; }
        if (res.status === 201 || res.status === 200) { closePanel(); showDone(res.data); return; }
        closePanel();
        if (res.status === 409 && res.data.error === 'email_sent') { showEmailSent(res.data.message); return; }
        if (res.status === 409 && res.data.error === 'slot_taken') {
          button.disabled = true;
          showError('Sorry, that time was just taken. Here are the nearest free times.');
          showNext(res.data.next);
          return;
        }
        showError(messageOf(res.data));
      }).catch(function () { closePanel(); showError('We could not reach the server. Please check your connection and try again.'); });
    });
  }

  root.addEventListener('click', function (e) {
    var button = e.target.closest('button.slot');
    if (!button) return;
    e.preventDefault();
    confirm(button, button.value || button.dataset.start);
  });
})();
