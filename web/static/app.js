// Progressive enhancement only: every page works without it. A select marked data-autosubmit
// (the language choice) sends its form when changed.
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
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
