// The confirmation every action goes through: a modal <dialog> that says what will happen.

/** Shows the dialog; resolves true when the user confirmed, false when they cancelled or pressed Escape. */
export function confirmAction({ title, message, confirmLabel, danger = false }) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-message').textContent = message;
  const button = document.getElementById('confirm-button');
  button.textContent = confirmLabel;
  button.className = danger ? 'danger' : 'primary';
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}
