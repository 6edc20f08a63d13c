module.exports = (who) => `hello from the greet workspace, ${who}`;
