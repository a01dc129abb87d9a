// MathJax 2, served by the site itself (docs/hooks.py adds it from jupyter-server-mathjax), so
// formulas render offline: its combined TeX + HTML-CSS configuration with the STIX web fonts it ships.
// \( \) and $ $ inline, \[ \] and $$ $$ display: pymdownx.arithmatex's pages and the notebooks alike.
window.MathJax = {
  config: ["TeX-AMS-MML_HTMLorMML-full.js"],
  tex2jax: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  "HTML-CSS": { availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null },
  showMathMenu: false,
  messageStyle: "none",
};
document$.subscribe(() => {
  if (window.MathJax && window.MathJax.Hub) {
    window.MathJax.Hub.Queue(["Typeset", window.MathJax.Hub]);
  }
});
