// MathJax 2, served by the site itself (docs/hooks.py copies it in), so formulas render offline.
// \( \) and $ $ inline, \[ \] and $$ $$ display: pymdownx.arithmatex's pages and the notebooks alike.
// SVG output needs no web fonts.
window.MathJax = {
  jax: ["input/TeX", "output/SVG"],
  extensions: ["tex2jax.js"],
  TeX: { extensions: ["AMSmath.js", "AMSsymbols.js", "noErrors.js", "noUndefined.js"] },
  tex2jax: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  showMathMenu: false,
  messageStyle: "none",
};
document$.subscribe(() => {
  if (window.MathJax && window.MathJax.Hub) {
    window.MathJax.Hub.Queue(["Typeset", window.MathJax.Hub]);
  }
});
