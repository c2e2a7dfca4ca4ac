package componenttest_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/component/componenttest"
)

func TestReportWritesTextJSONAndJUnit(t *testing.T) {
	r := &componenttest.Report{Name: "smoke"}
	require.NoError(t, r.Run("db answers", func() error { return nil }))
	require.Error(t, r.Run("cache warm", func() error { return errors.New("cold <cache>") }))
	require.ErrorContains(t, r.Run("api", func() error { panic("boom") }), "panic: boom")
	require.Equal(t, 2, r.Failed())

	var text bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	require.Len(t, lines, 4)
	require.True(t, strings.HasPrefix(lines[0], "PASS db answers ("))
	require.Contains(t, lines[1], "FAIL cache warm")
	require.Contains(t, lines[1], ": cold <cache>")
	require.Equal(t, "smoke: 3 checks, 2 failed", lines[3])

	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var doc struct {
		Name     string
		Tests    int
		Failures int
		Cases    []struct{ Name, Failure string }
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	require.Equal(t, "smoke", doc.Name)
	require.Equal(t, 3, doc.Tests)
	require.Equal(t, 2, doc.Failures)
	require.Equal(t, "cold <cache>", doc.Cases[1].Failure)

	var junit bytes.Buffer
	require.NoError(t, r.WriteJUnit(&junit))
	require.True(t, strings.HasPrefix(junit.String(), "<?xml"))
	var suite struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	}
	require.NoError(t, xml.Unmarshal(junit.Bytes(), &suite))
	require.Equal(t, "smoke", suite.Name)
	require.Equal(t, 3, suite.Tests)
	require.Equal(t, 2, suite.Failures)
	require.Nil(t, suite.Cases[0].Failure)
	require.Equal(t, "cold <cache>", suite.Cases[1].Failure.Message, "escaped and read back")
}

func TestRecorderOrder(t *testing.T) {
	rec := &componenttest.Recorder{}
	s := componenttest.NewScript(rec)
	m := s.New("a")
	require.NoError(t, m.Init(t.Context(), nil))
	require.NoError(t, m.Start(t.Context()))
	require.NoError(t, m.Stop(t.Context()))
	ok, _ := rec.InOrder("init a", "stop a")
	require.True(t, ok)
	ok, why := rec.InOrder("stop a", "start a")
	require.False(t, ok)
	require.Contains(t, why, `lack "start a"`)
	require.Equal(t, []string{"a"}, rec.Of("start"))
	require.Equal(t, 1, s.Instances())
}
