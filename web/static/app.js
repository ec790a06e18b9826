// Progressive enhancement only: every page works without it. A select marked data-autosubmit
// (the language choice) sends its form when chosen with the mouse or by touch. With the keyboard the arrow
// keys only move the choice (the page must not change under someone reading the options: WCAG 3.2.2), and
// Enter sends it.
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  let keyed = false;
  select.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      select.form.submit();
    } else if (event.key !== "Tab" && event.key !== "Shift") {
      keyed = true;
    }
  });
  select.addEventListener("change", () => {
    if (!keyed) select.form.submit();
  });
  select.addEventListener("blur", () => { keyed = false; });
});

// The new-project form: a field marked data-templates is shown only while one of those templates is chosen
// (the report fields of a template with reports); without this, the server ignores what does not apply.
const template = document.querySelector("#f-template");
if (template) {
  const show = () => document.querySelectorAll("[data-templates]").forEach((field) => {
    field.hidden = !field.dataset.templates.split(" ").includes(template.value);
  });
  template.addEventListener("change", show);
  show();
}
