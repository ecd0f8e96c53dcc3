// One line under the top bar: what an action did, or why it failed.

export function showNotice(text, { error = false } = {}) {
  const notice = document.getElementById('notice');
  notice.textContent = text;
  notice.classList.toggle('error', error);
  notice.hidden = false;
}

export function hideNotice() {
  document.getElementById('notice').hidden = true;
}
