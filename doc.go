// Package cutbot is the domain of cutbot, the release-cut chatops bot: a release cut, its
// plan of stages, the pure state machine that is the only way a cut's state changes, and the
// ports (interfaces) through which the use cases in handlers/ reach the outside world.
//
// This package imports the standard library and a version parser only; no Slack, GitHub,
// Cloud Build or bbolt code. The packages around it (bot/, handlers/, integrations/, store/)
// speak these types.
package cutbot
