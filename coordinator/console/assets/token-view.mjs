// The gate in front of every view: the coordinator refused the console's API call (401), so the
// user gives the cluster token, which the console keeps for this tab only (sessionStorage).

import { h } from './dom.mjs';
import { storeToken } from './api.mjs';

/**
 * `hadToken`: whether the refused call carried a token (then it was refused, else it is required);
 * `reason`: the API's words; `onToken` runs once the user gave a token.
 */
export function tokenView({ hadToken, reason, onToken }) {
  const input = h('input', { type: 'password', id: 'token-input', autocomplete: 'off', placeholder: 'cluster token', 'aria-label': 'cluster token', required: true });
  const form = h(
    'form',
    {
      onsubmit: (event) => {
        event.preventDefault();
        const token = input.value.trim();
        if (token === '') return;
        storeToken(token);
        onToken();
      },
    },
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Open'),
  );
  const element = h(
    'section',
    { class: 'panel token-gate', id: 'token-gate', 'data-refusal': hadToken ? 'refused' : 'required' },
    h('h1', {}, hadToken ? 'Token refused' : 'Token required'),
    h('p', { class: 'refused' }, hadToken ? `The coordinator refused the token: ${reason}.` : `The coordinator requires the cluster token: ${reason}.`),
    h('p', {}, 'Give the cluster token (the coordinator’s --cluster-token, or the file `sluice cluster` wrote: <data-dir>/cluster-token). It is kept for this browser tab only and sent as the Bearer header on every API call.'),
    form,
  );
  queueMicrotask(() => input.focus());
  return { element };
}
