module.exports = { testEnvironment: 'jsdom', rootDir: __dirname, testMatch: ['**/*.test.cjs'] };
