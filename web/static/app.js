// Progressive enhancement only: every page works without it. A select marked data-autosubmit
// (the language choice) sends its form when changed.
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
